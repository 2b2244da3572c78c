import { describe, expect, it } from 'vitest';
import { validateConfig, type ConfigIssue } from '../../device-config/validate.js';
import {
  DEFAULT_MODBUS_SETTINGS,
  classifyModbusError,
  decodeReading,
  modbusBuses,
} from '../../edge-agent/src/devices/scale/modbus-scale-adapter.js';
import { demoRaw } from '../support/demo-config.js';

/** Two registers as a transmitter sends a float, high word first. */
function floatWords(value: number): [number, number] {
  const b = Buffer.alloc(4);
  b.writeFloatBE(value);
  return [b.readUInt16BE(0), b.readUInt16BE(2)];
}

describe('decodeReading', () => {
  it('reads int32 counts in either word order, signed', () => {
    expect(decodeReading(0x0001, 0x86a0, 'int32', 'big')).toBe(100_000);
    expect(decodeReading(0x86a0, 0x0001, 'int32', 'little')).toBe(100_000);
    expect(decodeReading(0xffff, 0xfffe, 'int32', 'big')).toBe(-2);
    expect(decodeReading(0xfffe, 0xffff, 'int32', 'little')).toBe(-2);
    expect(decodeReading(0x7fff, 0xffff, 'int32', 'big')).toBe(2_147_483_647);
    expect(decodeReading(0x8000, 0x0000, 'int32', 'big')).toBe(-2_147_483_648);
    expect(decodeReading(0x0000, 0x8000, 'int32', 'big')).toBe(32_768);
    // The same two registers mean something else in the other order.
    expect(decodeReading(0x0001, 0x86a0, 'int32', 'little')).toBe(-2_036_334_591);
  });

  it('reads float32 as counts, rounded, in either word order', () => {
    expect(decodeReading(0x3f80, 0x0000, 'float32', 'big')).toBe(1);
    expect(decodeReading(0x0000, 0x3f80, 'float32', 'little')).toBe(1);
    const [hi, lo] = floatWords(241_331.4);
    expect(decodeReading(hi, lo, 'float32', 'big')).toBe(241_331);
    expect(decodeReading(lo, hi, 'float32', 'little')).toBe(241_331);
    const [nhi, nlo] = floatWords(-1520.6);
    expect(decodeReading(nhi, nlo, 'float32', 'big')).toBe(-1521);
  });

  it('refuses float32 values that are no usable count', () => {
    expect(decodeReading(0x7fc0, 0x0000, 'float32', 'big')).toBeNaN(); // NaN
    expect(decodeReading(0x7f80, 0x0000, 'float32', 'big')).toBeNaN(); // +Infinity
    expect(decodeReading(...floatWords(3e9), 'float32', 'big')).toBeNaN();
    expect(decodeReading(...floatWords(-3e9), 'float32', 'big')).toBeNaN();
  });
});

describe('classifyModbusError', () => {
  it('tells apart the failures modbus-serial reports', () => {
    expect(classifyModbusError({ name: 'TransactionTimedOutError', message: 'Timed out', errno: 'ETIMEDOUT' })).toBe('timeout');
    expect(classifyModbusError(Object.assign(new Error('Modbus exception 2: Illegal data address'), { modbusCode: 2 }))).toBe('exception');
    expect(classifyModbusError(new Error('CRC error'))).toBe('crc');
    expect(classifyModbusError({ name: 'PortNotOpenError', message: 'Port Not Open', errno: 'ECONNREFUSED' })).toBe('port');
    expect(classifyModbusError(new Error('Data length error, expected 9 got 7'))).toBe('malformed');
    expect(classifyModbusError(new Error('Unexpected data error, expected address 3 got 4'))).toBe('malformed');
    expect(classifyModbusError(new Error('something else'))).toBe('other');
    expect(classifyModbusError(undefined)).toBe('other');
  });
});

/** The demo store with its first gondola's shelves 1 and 2 on one RS-485 bus. */
function modbusRaw(): Record<string, any> {
  const raw = demoRaw();
  const shelves = raw['gondolas'][0]['shelves'];
  for (const [si, shelf] of shelves.slice(0, 2).entries()) {
    shelf['protocol'] = 'modbus-rtu';
    shelf['device'] = 'serial:///dev/ttyUSB0?baudRate=9600';
    shelf['plates'].forEach((p: Record<string, unknown>, pi: number) => (p['modbus'] = { unitId: si * 10 + pi + 1, register: 0 }));
  }
  return raw;
}

function errorsOf(raw: unknown): ConfigIssue[] {
  const result = validateConfig(raw);
  if (result.ok) throw new Error('expected the configuration to be rejected');
  return result.errors;
}

describe('modbus-rtu shelf configuration', () => {
  it('validates a modbus-rtu shelf with its bus settings, and fills the defaults of the others', () => {
    const raw = modbusRaw();
    raw['gondolas'][0]['shelves'][0]['modbus'] = { pollHz: 10, timeoutMs: 80, registers: 'input', format: 'float32', wordOrder: 'little' };
    raw['gondolas'][0]['shelves'][1]['modbus'] = {};
    const result = validateConfig(raw);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.warnings).toEqual([]);
    const [first, second, third] = result.config.gondolas[0]!.shelves;
    expect(first!.modbus).toEqual({ pollHz: 10, timeoutMs: 80, registers: 'input', format: 'float32', wordOrder: 'little' });
    // The schema's defaults are the adapter's: a shelf without settings polls exactly like `{}`.
    expect(second!.modbus).toEqual(DEFAULT_MODBUS_SETTINGS);
    expect(third!.modbus).toBeUndefined();
  });

  it('reports bad bus settings and a missing per-plate address by path', () => {
    const raw = modbusRaw();
    raw['gondolas'][0]['shelves'][0]['modbus'] = { pollHz: 0, format: 'float64', baud: 9600 };
    delete raw['gondolas'][0]['shelves'][1]['plates'][2]['modbus'];
    const errors = errorsOf(raw);
    const paths = errors.map((e) => e.path);
    expect(paths).toContain('/gondolas/0/shelves/0/modbus/pollHz');
    expect(paths).toContain('/gondolas/0/shelves/0/modbus/format');
    expect(errors).toContainEqual({ path: '/gondolas/0/shelves/0/modbus/baud', message: 'unknown key' });
    expect(errors).toContainEqual({ path: '/gondolas/0/shelves/1/plates/2/modbus', message: 'required when the shelf protocol is "modbus-rtu"' });
  });

  it('groups modbus-rtu shelves into one bus per device URL, plates at their tick index', () => {
    const raw = modbusRaw();
    const third = raw['gondolas'][0]['shelves'][2];
    third['protocol'] = 'modbus-rtu';
    third['device'] = 'tcp://10.0.0.7:4001';
    third['modbus'] = { pollHz: 5 };
    third['plates'].forEach((p: Record<string, unknown>, pi: number) => (p['modbus'] = { unitId: 1, register: pi * 2 }));
    raw['gondolas'][0]['shelves'][1]['modbus'] = { pollHz: 50 };
    const result = validateConfig(raw);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const warnings: string[] = [];
    const buses = modbusBuses(result.config, (m) => warnings.push(m));
    expect(buses.map((b) => ({ device: b.device, url: b.url, shelves: b.shelves.map((s) => s.shelf), pollHz: b.settings.pollHz }))).toEqual([
      { device: 'modbus-1.1', url: 'serial:///dev/ttyUSB0?baudRate=9600', shelves: ['1.1', '1.2'], pollHz: 20 },
      { device: 'modbus-1.3', url: 'tcp://10.0.0.7:4001', shelves: ['1.3'], pollHz: 5 },
    ]);
    expect(buses[0]!.shelves[1]!.plates.slice(0, 2)).toEqual([
      { index: 0, unitId: 11, register: 0 },
      { index: 1, unitId: 12, register: 0 },
    ]);
    expect(buses[1]!.shelves[0]!.plates.map((p) => p.register)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(warnings).toEqual(["shelf 1.2 shares serial:///dev/ttyUSB0?baudRate=9600 with shelf 1.1 but sets other modbus settings; the bus runs with 1.1's"]);
  });
});
