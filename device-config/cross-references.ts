/**
 * Checks the schema cannot express: unique ids, references between sections, GTIN check
 * digits, degenerate polygons. They read the raw (possibly schema-invalid) data defensively so
 * that one run reports every mistake in a file, not the first layer of them.
 */
import type { ConfigIssue } from './validate.js';

type Obj = Record<string, unknown>;

const asObj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const asArr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asStr = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const asNum = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** A heatmap hour is one row per occupied cell: keep the grid within what the tables and the page can hold. */
const MAX_HEATMAP_CELLS = 250_000;

export interface CrossReferenceResult {
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

export function crossReferenceIssues(data: unknown): CrossReferenceResult {
  const out: CrossReferenceResult = { errors: [], warnings: [] };
  const root = asObj(data);
  if (!root) return out;
  const error = (path: string, message: string) => out.errors.push({ path, message });
  const warn = (path: string, message: string) => out.warnings.push({ path, message });

  const store = asObj(root['store']);
  const timezone = asStr(store?.['timezone']);
  if (timezone !== undefined && !isTimeZone(timezone)) error('/store/timezone', `unknown time zone "${timezone}"`);
  const floor = asObj(store?.['floor']);
  const floorW = asNum(floor?.['widthM']);
  const floorD = asNum(floor?.['depthM']);
  const onFloor = (x: number, y: number) => floorW === undefined || floorD === undefined || (x >= 0 && y >= 0 && x <= floorW && y <= floorD);

  // Zones first: other sections refer to them.
  const zones = uniqueIds(root['zones'], '/zones', 'zone', error);
  asArr(root['zones']).forEach((z, i) => {
    const polygon = asArr(asObj(z)?.['polygon']);
    const points = polygon.map((p) => asArr(p).map(asNum)).filter((p): p is [number, number] => p.length === 2 && p.every((n) => n !== undefined));
    if (points.length !== polygon.length || points.length < 3) return;
    if (Math.abs(polygonArea(points)) < 1e-6) error(`/zones/${i}/polygon`, 'polygon has no area (its points are repeated or on one line)');
    if (points.some(([x, y]) => !onFloor(x, y))) warn(`/zones/${i}/polygon`, 'polygon reaches outside store.floor');
  });
  const zoneRef = (value: unknown, path: string) => {
    const id = asStr(value);
    if (id !== undefined && !zones.has(id)) error(path, `unknown zone "${id}"`);
    return id;
  };

  // Gondolas, shelves and plates define the addresses the planogram, cameras and antennas use.
  const shelves = new Map<string, { path: string; protocol: string | undefined }>();
  const plates = new Set<string>();
  const modbusAddresses = new Map<string, string>();
  uniqueIds(root['gondolas'], '/gondolas', 'gondola', error);
  asArr(root['gondolas']).forEach((g, gi) => {
    const gondola = asObj(g);
    const gPath = `/gondolas/${gi}`;
    const gid = asNum(gondola?.['id']);
    const frontZone = zoneRef(gondola?.['frontZone'], `${gPath}/frontZone`);
    if (frontZone !== undefined && zones.has(frontZone) && zones.get(frontZone) !== 'shelf-front') {
      warn(`${gPath}/frontZone`, `zone "${frontZone}" is of type "${zones.get(frontZone)}", not "shelf-front"`);
    }
    const pos = asObj(gondola?.['position']);
    const px = asNum(pos?.['x']);
    const py = asNum(pos?.['y']);
    if (px !== undefined && py !== undefined && !onFloor(px, py)) warn(`${gPath}/position`, 'gondola stands outside store.floor');
    uniqueIds(gondola?.['shelves'], `${gPath}/shelves`, 'shelf', error);
    asArr(gondola?.['shelves']).forEach((s, si) => {
      const shelf = asObj(s);
      const sPath = `${gPath}/shelves/${si}`;
      const sid = asNum(shelf?.['id']);
      const protocol = asStr(shelf?.['protocol']) ?? 'scale-line';
      const device = asStr(shelf?.['device']);
      if (gid !== undefined && sid !== undefined) shelves.set(`${gid}.${sid}`, { path: sPath, protocol });
      uniqueIds(shelf?.['plates'], `${sPath}/plates`, 'plate', error);
      asArr(shelf?.['plates']).forEach((p, pi) => {
        const plate = asObj(p);
        const pPath = `${sPath}/plates/${pi}`;
        const pid = asNum(plate?.['id']);
        if (gid !== undefined && sid !== undefined && pid !== undefined) plates.add(`${gid}.${sid}.${pid}`);
        const modbus = asObj(plate?.['modbus']);
        if (protocol === 'modbus-rtu' && plate && !modbus) error(`${pPath}/modbus`, 'required when the shelf protocol is "modbus-rtu"');
        if (protocol !== 'modbus-rtu' && modbus) warn(`${pPath}/modbus`, `ignored: the shelf protocol is "${protocol}"`);
        if (modbus && device !== undefined) {
          const key = `${device} unit ${String(modbus['unitId'])} register ${String(modbus['register'])}`;
          const first = modbusAddresses.get(key);
          if (first !== undefined) error(`${pPath}/modbus`, `same bus address as ${first}`);
          else modbusAddresses.set(key, `${pPath}/modbus`);
        }
      });
    });
  });
  const shelfRef = (value: unknown, path: string) => {
    const ref = asStr(value);
    if (ref !== undefined && !shelves.has(ref)) error(path, `unknown shelf "${ref}"`);
  };

  // Planogram.
  const planogram = asObj(root['planogram']);
  uniqueIds(planogram?.['products'], '/planogram/products', 'product', error);
  uniqueValues(planogram?.['products'], '/planogram/products', 'gtin', 'GTIN', error);
  asArr(planogram?.['products']).forEach((p, i) => {
    const product = asObj(p);
    const path = `/planogram/products/${i}`;
    const gtin = asStr(product?.['gtin']);
    if (gtin !== undefined && /^([0-9]{8}|[0-9]{12,14})$/.test(gtin) && !gtinCheckDigitOk(gtin)) {
      error(`${path}/gtin`, `check digit of "${gtin}" is wrong (expected ${expectedCheckDigit(gtin)})`);
    }
    asArr(product?.['plates']).forEach((ref, j) => {
      const plate = asStr(ref);
      if (plate !== undefined && /^\d+\.\d+\.\d+$/.test(plate) && !plates.has(plate)) {
        error(`${path}/plates/${j}`, `unknown plate "${plate}"`);
      }
    });
    const unit = asNum(product?.['unitWeight']);
    const tolerance = asNum(product?.['weightTolerance']);
    if (unit !== undefined && tolerance !== undefined && unit > 0 && tolerance >= unit / 2) {
      warn(`${path}/weightTolerance`, 'half the unit weight or more: counts of this product cannot be told apart by weight');
    }
  });

  // Cameras.
  uniqueIds(root['cameras'], '/cameras', 'camera', error);
  asArr(root['cameras']).forEach((c, i) => {
    const camera = asObj(c);
    const refs = asArr(camera?.['shelves']);
    refs.forEach((ref, j) => shelfRef(ref, `/cameras/${i}/shelves/${j}`));
    if (camera?.['role'] === 'shelf' && refs.length === 0) warn(`/cameras/${i}/shelves`, 'a shelf camera should name the shelves it sees');
    if (camera?.['track'] === true && asObj(asObj(root['vision'])?.['detector']) === undefined) {
      error(`/cameras/${i}/track`, 'tracking people needs a person detector in /vision/detector');
    }
    const hasDetector = asObj(asObj(root['vision'])?.['detector']) !== undefined;
    const tracks = camera?.['track'] === true || (camera?.['track'] === undefined && camera?.['role'] !== 'shelf' && hasDetector);
    if (tracks && camera?.['role'] !== 'shelf' && typeof camera?.['calibration'] !== 'string') {
      warn(`/cameras/${i}/calibration`, 'without a floor calibration this camera\'s tracks stay in image pixels and never reach the store floor');
    }
  });

  // Gates before antennas, which refer to them.
  const gates = new Map<string, string | undefined>();
  uniqueIds(root['gates'], '/gates', 'gate', error);
  asArr(root['gates']).forEach((g, i) => {
    const gate = asObj(g);
    const id = asStr(gate?.['id']);
    if (id !== undefined) gates.set(id, asStr(gate?.['kind']));
    zoneRef(gate?.['zone'], `/gates/${i}/zone`);
  });

  const rfid = asObj(root['rfid']);
  uniqueIds(rfid?.['readers'], '/rfid/readers', 'reader', error);
  asArr(rfid?.['readers']).forEach((r, i) => {
    const reader = asObj(r);
    const rPath = `/rfid/readers/${i}`;
    uniqueValues(reader?.['antennas'], `${rPath}/antennas`, 'port', 'antenna port', error);
    const antennaCount = asArr(reader?.['antennas']).length;
    if (reader && (reader['protocol'] ?? 'r200') === 'r200' && antennaCount > 1) error(`${rPath}/antennas`, 'an R200 module has one antenna');
    if (reader?.['protocol'] === 'ascii-line') {
      if (reader['powerDbm'] !== undefined) warn(`${rPath}/powerDbm`, 'ignored: an ascii-line reader keeps its own settings');
      const pattern = asStr(reader['linePattern']);
      if (pattern !== undefined) {
        try {
          if (!/\(\?<epc>/.test(pattern)) error(`${rPath}/linePattern`, 'needs a named group (?<epc>…)');
          new RegExp(pattern);
        } catch (err) {
          error(`${rPath}/linePattern`, `not a regular expression: ${(err as Error).message}`);
        }
      }
    }
    asArr(reader?.['antennas']).forEach((a, j) => {
      const antenna = asObj(a);
      const aPath = `${rPath}/antennas/${j}`;
      const role = asStr(antenna?.['role']);
      if (role === 'shelf') {
        if (antenna?.['shelf'] === undefined) error(`${aPath}/shelf`, 'required for a shelf antenna');
        shelfRef(antenna?.['shelf'], `${aPath}/shelf`);
      }
      if (role === 'gate-inside' || role === 'gate-outside') {
        const gate = asStr(antenna?.['gate']);
        if (gate === undefined) error(`${aPath}/gate`, 'required for a gate antenna');
        else if (!gates.has(gate)) error(`${aPath}/gate`, `unknown gate "${gate}"`);
        else if (gates.get(gate) === 'entry') warn(`${aPath}/gate`, `gate "${gate}" is entry-only; tags leaving through it are not seen as exits`);
      }
    });
  });

  uniqueIds(root['screens'], '/screens', 'screen', error);
  asArr(root['screens']).forEach((s, i) => {
    const screen = asObj(s);
    zoneRef(screen?.['zone'], `/screens/${i}/zone`);
    asArr(screen?.['shelves']).forEach((ref, j) => shelfRef(ref, `/screens/${i}/shelves/${j}`));
  });

  const screenIds = new Set(asArr(root['screens']).map((s) => asStr(asObj(s)?.['id'])).filter((id) => id !== undefined));
  const signage = asObj(root['signage']);
  uniqueIds(signage?.['rules'], '/signage/rules', 'rule', error);
  asArr(signage?.['rules']).forEach((r, i) => {
    const rule = asObj(r);
    asArr(rule?.['screens']).forEach((id, j) => {
      if (typeof id === 'string' && !screenIds.has(id)) error(`/signage/rules/${i}/screens/${j}`, `unknown screen "${id}"`);
    });
    asArr(rule?.['zones']).forEach((ref, j) => zoneRef(ref, `/signage/rules/${i}/zones/${j}`));
  });
  const productIds = new Set(asArr(asObj(root['planogram'])?.['products']).map((p) => asStr(asObj(p)?.['id'])).filter((id) => id !== undefined));
  asArr(asObj(root['planogram'])?.['promotions']).forEach((p, i) => {
    const product = asStr(asObj(p)?.['product']);
    if (product !== undefined && !productIds.has(product)) error(`/planogram/promotions/${i}/product`, `unknown product "${product}"`);
  });

  const heatmap = asObj(asObj(root['analytics'])?.['heatmap']);
  const cellM = asNum(heatmap?.['cellM']);
  if (cellM !== undefined && cellM > 0 && floorW !== undefined && floorD !== undefined) {
    const cells = Math.ceil(floorW / cellM) * Math.ceil(floorD / cellM);
    if (cells > MAX_HEATMAP_CELLS) error('/analytics/heatmap/cellM', `${cells} heatmap cells on a ${floorW} m × ${floorD} m floor; at most ${MAX_HEATMAP_CELLS} (choose larger cells)`);
  }

  const tls = asObj(asObj(root['mqtt'])?.['tls']);
  if (tls && (tls['certFile'] === undefined) !== (tls['keyFile'] === undefined)) {
    error('/mqtt/tls', 'certFile and keyFile go together (client certificate authentication)');
  }
  return out;
}

/** Reports repeated `id`s in an array section; returns id → zone-type-like `type` for lookups. */
function uniqueIds(items: unknown, base: string, what: string, error: (path: string, message: string) => void): Map<string | number, string | undefined> {
  return uniqueValues(items, base, 'id', what, error);
}

function uniqueValues(
  items: unknown,
  base: string,
  key: string,
  what: string,
  error: (path: string, message: string) => void,
): Map<string | number, string | undefined> {
  const seen = new Map<string | number, string | undefined>();
  const firstAt = new Map<string | number, number>();
  asArr(items).forEach((item, i) => {
    const o = asObj(item);
    const value = o?.[key];
    if (typeof value !== 'string' && typeof value !== 'number') return;
    const first = firstAt.get(value);
    if (first !== undefined) {
      error(`${base}/${i}/${key}`, `duplicate ${what} ${JSON.stringify(value)} (first at ${base}/${first}/${key})`);
      return;
    }
    firstAt.set(value, i);
    seen.set(value, asStr(o?.['type']));
  });
  return seen;
}

function polygonArea(points: readonly (readonly [number, number])[]): number {
  let twice = 0;
  for (let i = 0; i < points.length; i++) {
    const [x1, y1] = points[i]!;
    const [x2, y2] = points[(i + 1) % points.length]!;
    twice += x1 * y2 - x2 * y1;
  }
  return twice / 2;
}

function expectedCheckDigit(gtin: string): number {
  const body = gtin.slice(0, -1);
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    const digit = body.charCodeAt(body.length - 1 - i) - 48;
    sum += digit * (i % 2 === 0 ? 3 : 1);
  }
  return (10 - (sum % 10)) % 10;
}

export function gtinCheckDigitOk(gtin: string): boolean {
  return expectedCheckDigit(gtin) === gtin.charCodeAt(gtin.length - 1) - 48;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
