/**
 * The one schema of a store's configuration. Types, validation (with JSON paths), the generated
 * reference (`REFERENCE.md`, `store.schema.json`) and the admin page's read-only view all come
 * from here; nothing else describes the file.
 *
 * Fields with a `default` are filled in by validation, so the derived `StoreConfig` type is the
 * resolved configuration the agent runs with.
 */
import Type from 'typebox';

export const CONFIG_VERSION = 1;

const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
const ENV_NAME_PATTERN = '^[A-Z_][A-Z0-9_]*$';

const Id = (description: string) => Type.String({ pattern: ID_PATTERN, description });
const ZoneRef = (description: string) => Type.String({ pattern: ID_PATTERN, description });
const EnvName = (description: string) => Type.String({ pattern: ENV_NAME_PATTERN, description });
const Text = (description: string) => Type.String({ minLength: 1, maxLength: 200, description });

export const ShelfRef = Type.String({
  pattern: '^[0-9]{1,3}\\.[0-9]{1,2}$',
  description: 'a shelf as "<gondola>.<shelf>", e.g. "1.3"',
});
export const PlateRef = Type.String({
  pattern: '^[0-9]{1,3}\\.[0-9]{1,2}\\.[0-9]{1,2}$',
  description: 'a plate as "<gondola>.<shelf>.<plate>", e.g. "1.3.2"',
});

export const DeviceUrl = Type.String({
  pattern: '^(serial|tcp|replay|sim)://.+$',
  description:
    'where the device is: serial:///dev/ttyUSB0?baudRate=115200, tcp://host:port (ser2net), ' +
    'replay://path/to/recording, or sim://name (the built-in store simulator)',
});

export const CameraUrl = Type.String({
  pattern: '^(rtsp|rtsps|http|https|file|v4l2|replay|sim)://.+$',
  description: 'rtsp://…, http(s)://… (MJPEG), v4l2:///dev/video0, file:///path.mp4, replay://…, sim://name',
});

const FloorPoint = Type.Tuple([Type.Number(), Type.Number()], {
  description: '[x, y] in metres on the floor plan; origin at the plan\'s top-left corner',
});

const Polygon = Type.Array(FloorPoint, { minItems: 3, maxItems: 64, description: 'floor polygon, ≥ 3 points' });

export const StoreSection = Type.Object(
  {
    id: Id('store id, used in MQTT topics and receipts'),
    name: Text('display name'),
    timezone: Type.String({ default: 'UTC', minLength: 1, description: 'IANA time zone for hourly buckets and quiet hours' }),
    currency: Type.String({ pattern: '^[A-Z]{3}$', default: 'EUR', description: 'ISO 4217 code of all prices' }),
    locale: Type.String({ pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$', default: 'en-GB', description: 'BCP 47 language tag: how shelf screens write prices and text' }),
    floor: Type.Object(
      {
        widthM: Type.Number({ exclusiveMinimum: 0, description: 'floor plan width (x) in metres' }),
        depthM: Type.Number({ exclusiveMinimum: 0, description: 'floor plan depth (y) in metres' }),
        planImage: Type.Optional(Type.String({ minLength: 1, description: 'floor plan image (PNG/JPEG) for heatmaps and the live page' })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export const AdminSection = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1', minLength: 1, description: 'address the admin page listens on; 0.0.0.0 for tablets on the store network' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'admin HTTP port (0 picks a free port)' }),
    secureCookies: Type.Boolean({ default: false, description: 'mark session cookies Secure: set when the page is reached over HTTPS (a TLS proxy in front of the box)' }),
    sessionHours: Type.Number({ exclusiveMinimum: 0, maximum: 720, default: 12, description: 'a staff login lasts this long' }),
    maxFailedLogins: Type.Integer({ minimum: 1, maximum: 100, default: 5, description: 'wrong passwords in a row before the account is locked' }),
    lockMinutes: Type.Number({ exclusiveMinimum: 0, maximum: 1440, default: 15, description: 'how long a locked account stays locked' }),
  },
  { additionalProperties: false, default: {} },
);

export const LogSection = Type.Object(
  {
    level: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info', description: 'log level (LOG_LEVEL overrides)' }),
  },
  { additionalProperties: false, default: {} },
);

export const Camera = Type.Object(
  {
    id: Id('camera id'),
    name: Type.Optional(Text('display name')),
    role: Type.Enum(['overhead', 'shelf', 'entrance'], { description: 'overhead cameras track shoppers; shelf cameras see picks' }),
    url: CameraUrl,
    fps: Type.Number({ exclusiveMinimum: 0, maximum: 60, default: 5, description: 'frames per second handed to the detector (ffmpeg decimates)' }),
    detectSize: Type.Object(
      {
        width: Type.Integer({ minimum: 32, maximum: 4096, description: 'width of the frames ffmpeg scales to' }),
        height: Type.Integer({ minimum: 32, maximum: 4096, description: 'height of the frames ffmpeg scales to' }),
      },
      { additionalProperties: false, default: { width: 640, height: 360 } },
    ),
    calibration: Type.Optional(Type.String({ minLength: 1, description: 'homography file written by `edge-agent calibrate camera`' })),
    track: Type.Optional(Type.Boolean({ description: 'detect and track people on this camera; default: true for overhead and entrance cameras when vision.detector is set' })),
    shelves: Type.Optional(Type.Array(ShelfRef, { description: 'shelves a shelf camera looks at' })),
  },
  { additionalProperties: false },
);

export const Plate = Type.Object(
  {
    id: Type.Integer({ minimum: 1, maximum: 99, description: 'plate number on its shelf, from the left' }),
    widthM: Type.Number({ exclusiveMinimum: 0, maximum: 5, description: 'plate width in metres' }),
    capacityGrams: Type.Number({ exclusiveMinimum: 0, default: 20000, description: 'load cell capacity; readings beyond it are out of range' }),
    modbus: Type.Optional(
      Type.Object(
        {
          unitId: Type.Integer({ minimum: 1, maximum: 247, description: 'Modbus RTU slave id of the transmitter' }),
          register: Type.Integer({ minimum: 0, maximum: 65535, description: 'first register of the reading' }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const Shelf = Type.Object(
  {
    id: Type.Integer({ minimum: 1, maximum: 99, description: 'shelf number in its gondola, from the bottom' }),
    heightM: Type.Number({ minimum: 0, maximum: 4, description: 'height of the shelf surface above the floor' }),
    device: DeviceUrl,
    protocol: Type.Enum(['scale-line', 'modbus-rtu'], { default: 'scale-line', description: 'shelf controller protocol' }),
    modbus: Type.Optional(
      Type.Object(
        {
          pollHz: Type.Number({ minimum: 1, maximum: 100, default: 20, description: 'polling cycles per second; one cycle reads every plate on the bus, one request at a time' }),
          timeoutMs: Type.Integer({ minimum: 10, maximum: 5000, default: 100, description: 'how long to wait for a transmitter\'s answer before marking its plate invalid' }),
          registers: Type.Enum(['holding', 'input'], { default: 'holding', description: 'holding registers (function 3) or input registers (function 4)' }),
          format: Type.Enum(['int32', 'float32'], {
            default: 'int32',
            description: 'a reading is two registers: a signed 32-bit count or an IEEE 754 float; both are raw counts (float32 rounded) that calibration turns into grams',
          }),
          wordOrder: Type.Enum(['big', 'little'], { default: 'big', description: 'big: the first register holds the high word; little: the second does' }),
        },
        {
          additionalProperties: false,
          description: 'modbus-rtu shelves: how the bus is polled; shelves sharing a device URL share one bus and should agree',
        },
      ),
    ),
    plates: Type.Array(Plate, { minItems: 1, maxItems: 32 }),
  },
  { additionalProperties: false },
);

export const Gondola = Type.Object(
  {
    id: Type.Integer({ minimum: 1, maximum: 999, description: 'gondola number' }),
    name: Type.Optional(Text('display name')),
    position: Type.Object(
      {
        x: Type.Number({ description: 'x of the front-left corner, as seen by a shopper facing the shelves (metres)' }),
        y: Type.Number({ description: 'y of the front-left corner (metres; y grows down the floor plan)' }),
        widthM: Type.Number({ exclusiveMinimum: 0, description: 'length of the front, along which plates are numbered from the left' }),
        depthM: Type.Number({ exclusiveMinimum: 0, description: 'depth from the front edge to the back' }),
        rotationDeg: Type.Number({
          default: 0,
          minimum: -360,
          maximum: 360,
          description: 'rotation about the front-left corner; 0: the front runs along +x and shoppers stand on the +y side facing -y; 180: shoppers stand on the -y side',
        }),
      },
      { additionalProperties: false },
    ),
    frontZone: Type.Optional(ZoneRef('zone in front of the gondola where shoppers reach its shelves')),
    shelves: Type.Array(Shelf, { minItems: 1, maxItems: 16 }),
  },
  { additionalProperties: false },
);

export const Product = Type.Object(
  {
    id: Id('product id (SKU)'),
    name: Text('name on receipts and screens'),
    gtin: Type.String({ pattern: '^([0-9]{8}|[0-9]{12,14})$', description: 'GTIN-8/12/13/14 with a valid check digit' }),
    unitWeight: Type.Number({ exclusiveMinimum: 0, maximum: 100000, description: 'catalogue weight of one unit in grams' }),
    weightTolerance: Type.Number({ minimum: 0, description: 'expected spread of a unit\'s measured weight, grams (one sigma)' }),
    price: Type.Integer({ minimum: 0, description: 'unit price in minor currency units (cents)' }),
    plates: Type.Array(PlateRef, { description: 'plates the product rests on; empty when it is not on a shelf' }),
    rfidTagged: Type.Boolean({ default: false, description: 'units carry SGTIN RFID tags' }),
    category: Type.Optional(Text('category for recommendations and analytics')),
    lowStockUnits: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'a facing of this product with this many units or fewer is low on stock (default: stock.lowUnits)' })),
    image: Type.Optional(Type.String({ minLength: 1, description: 'packaging image for screens and the admin page' })),
  },
  { additionalProperties: false },
);

const IsoTime = (description: string) => Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})$', description });

export const Promotion = Type.Object(
  {
    product: Id('product id'),
    message: Type.Optional(Text('line on the card, e.g. "2 for €3"')),
    from: Type.Optional(IsoTime('ISO 8601 start (absent: already running)')),
    until: Type.Optional(IsoTime('ISO 8601 end (absent: until removed)')),
  },
  { additionalProperties: false },
);

export const Planogram = Type.Object(
  {
    products: Type.Array(Product, { default: [] }),
    promotions: Type.Array(Promotion, { default: [], description: 'products shelf screens show when no shopper trigger is active (after content set by the cloud)' }),
  },
  { additionalProperties: false, default: {} },
);

export const Antenna = Type.Object(
  {
    port: Type.Integer({ minimum: 1, maximum: 16, description: 'antenna port on the reader' }),
    role: Type.Enum(['shelf', 'gate-inside', 'gate-outside'], { description: 'what the antenna watches' }),
    shelf: Type.Optional(ShelfRef),
    gate: Type.Optional(ZoneRef('gate id, for gate antennas')),
  },
  { additionalProperties: false },
);

export const RfidReader = Type.Object(
  {
    id: Id('reader id'),
    device: DeviceUrl,
    protocol: Type.Enum(['r200', 'ascii-line'], { default: 'r200', description: 'M100/QM100 binary frames or one EPC per text line' }),
    linePattern: Type.Optional(Type.String({ minLength: 1, description: 'ascii-line: regular expression with named groups epc, antenna, rssi' })),
    powerDbm: Type.Optional(Type.Number({ minimum: 0, maximum: 33, description: 'transmit power' })),
    antennas: Type.Array(Antenna, { minItems: 1, maxItems: 16 }),
  },
  { additionalProperties: false },
);

export const RfidSection = Type.Object(
  {
    readers: Type.Array(RfidReader, { default: [] }),
    exitPolicy: Type.Enum(['bill', 'alert'], { default: 'alert', description: 'a tagged item leaving the store: bill the exiting shopper, or alert staff' }),
  },
  { additionalProperties: false, default: {} },
);

export const Gate = Type.Object(
  {
    id: Id('gate id'),
    kind: Type.Enum(['entry', 'exit', 'entry-exit']),
    device: DeviceUrl,
    zone: Type.Optional(ZoneRef('floor zone the gate opens onto')),
  },
  { additionalProperties: false },
);

export const Zone = Type.Object(
  {
    id: Id('zone id'),
    name: Text('display name'),
    type: Type.Enum(['aisle', 'shelf-front', 'promo', 'queue', 'entry', 'exit', 'staff-only']),
    polygon: Polygon,
  },
  { additionalProperties: false },
);

export const Screen = Type.Object(
  {
    id: Id('screen id'),
    name: Text('display name'),
    zone: ZoneRef('zone whose shoppers the screen addresses'),
    shelves: Type.Array(ShelfRef, { default: [], description: 'shelves next to the screen' }),
    tokenEnv: Type.Optional(EnvName('environment variable holding the screen\'s access token')),
  },
  { additionalProperties: false },
);

const ClockTime = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM on the store\'s wall clock' });

export const QuietHours = Type.Object(
  { from: ClockTime, to: ClockTime },
  { additionalProperties: false, description: 'a daily span (wrapping midnight when `from` is later than `to`) with no triggered cards: screens show their idle content' },
);

export const SignageRule = Type.Object(
  {
    id: Id('rule id'),
    on: Type.Enum(['lingering', 'hesitation', 'pick', 'group'], {
      description: 'lingering: a shopper stands at the shelves without a pick; hesitation: a pick put back; pick: a product taken (show what goes with it); group: several shoppers arrive together',
    }),
    screens: Type.Optional(Type.Array(Id('screen id'), { minItems: 1, description: 'screens the rule drives (absent: every screen)' })),
    zones: Type.Optional(Type.Array(ZoneRef('zone id'), { minItems: 1, description: "zones whose shoppers trigger it (absent: the screen's own zone; picks and put-backs: the screen's shelves too)" })),
    cooldownSeconds: Type.Number({ minimum: 0, maximum: 86_400, default: 20, description: 'after this rule changed a screen, it does not change it again for this long' }),
    shopperCooldownSeconds: Type.Number({ minimum: 0, maximum: 86_400, default: 300, description: 'the same shopper does not trigger this rule on the same screen again for this long' }),
    quietHours: Type.Optional(Type.Array(QuietHours, { description: "replaces the section's quiet hours for this rule" })),
    title: Type.Optional(Text('title over the cards')),
  },
  { additionalProperties: false },
);

const DEFAULT_SIGNAGE_RULES = [
  { id: 'lingering', on: 'lingering', cooldownSeconds: 20, shopperCooldownSeconds: 300 },
  { id: 'hesitation', on: 'hesitation', cooldownSeconds: 20, shopperCooldownSeconds: 300 },
  { id: 'pick', on: 'pick', cooldownSeconds: 20, shopperCooldownSeconds: 120 },
  { id: 'group', on: 'group', cooldownSeconds: 60, shopperCooldownSeconds: 600 },
];

export const SignageSection = Type.Object(
  {
    rules: Type.Array(SignageRule, { default: DEFAULT_SIGNAGE_RULES, description: 'what shopper behaviour changes which screen' }),
    quietHours: Type.Array(QuietHours, { default: [] }),
    maxChangesPerMinute: Type.Integer({ minimum: 1, maximum: 60, default: 4, description: 'a screen changes its cards at most this often (triggers beyond are dropped)' }),
    showSeconds: Type.Number({ minimum: 1, maximum: 3600, default: 20, description: 'how long triggered cards stay before the idle content returns' }),
    maxCards: Type.Integer({ minimum: 1, maximum: 6, default: 3 }),
    attributionSeconds: Type.Number({ minimum: 1, maximum: 3600, default: 120, description: 'a pick of a shown product by a shopper in the screen\'s zone within this long is attributed to the card' }),
    hesitationSeconds: Type.Number({ minimum: 1, maximum: 600, default: 30, description: 'a put-back this soon after the pick of the same product is hesitation' }),
    groupSize: Type.Integer({ minimum: 2, maximum: 20, default: 2, description: 'shoppers arriving in a zone together that make a group' }),
    groupWindowSeconds: Type.Number({ minimum: 1, maximum: 120, default: 8, description: '…within this many seconds of each other' }),
    recommendations: Type.Object(
      {
        lookbackDays: Type.Number({ exclusiveMinimum: 0, maximum: 400, default: 30, description: 'receipts mined for co-purchases' }),
        refreshMinutes: Type.Number({ minimum: 1, maximum: 1440, default: 60 }),
        minSupport: Type.Number({ minimum: 0, maximum: 1, default: 0.005, description: 'share of baskets holding both products' }),
        minConfidence: Type.Number({ minimum: 0, maximum: 1, default: 0.1, description: 'share of baskets with the first product that hold the second' }),
        minLift: Type.Number({ minimum: 0, default: 1.2, description: 'confidence over the second product\'s own share: above 1 they go together more than chance' }),
        minBaskets: Type.Integer({ minimum: 1, default: 20, description: 'fewer receipts than this: no rules yet, promotions and popular products instead' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

export const MqttSection = Type.Object(
  {
    url: Type.Optional(
      Type.String({ pattern: '^(mqtt|mqtts|ws|wss)://.+$', description: 'cloud or store broker; absent: an embedded broker on loopback' }),
    ),
    clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    topicPrefix: Type.String({ default: 'retail', pattern: '^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$', description: 'topics are <prefix>/<storeId>/…' }),
    usernameEnv: Type.Optional(EnvName('environment variable holding the MQTT user name')),
    passwordEnv: Type.Optional(EnvName('environment variable holding the MQTT password')),
    tls: Type.Optional(
      Type.Object(
        {
          caFile: Type.Optional(Type.String({ minLength: 1 })),
          certFile: Type.Optional(Type.String({ minLength: 1 })),
          keyFile: Type.Optional(Type.String({ minLength: 1 })),
          rejectUnauthorized: Type.Boolean({ default: true }),
        },
        { additionalProperties: false },
      ),
    ),
    keepaliveSeconds: Type.Integer({ minimum: 5, maximum: 3600, default: 30 }),
    backlogAlertRows: Type.Integer({ minimum: 1, default: 10_000, description: 'an alert for staff when this many messages wait in the outbox (the cloud unreachable for long)' }),
    embeddedPort: Type.Integer({ minimum: 0, maximum: 65535, default: 1883, description: 'loopback port of the embedded broker run when no url is set (a free one when taken; 0: any)' }),
    sessionExpiryHours: Type.Number({ minimum: 0, maximum: 720, default: 24, description: 'MQTT 5: how long the broker keeps the session (commands sent while the store is offline) after a disconnect; 0: a clean session each connect' }),
    messageExpiryHours: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 8760, description: 'MQTT 5: outbox messages a broker has not delivered to a subscriber expire after this long (absent: never)' })),
    summaryDelayMinutes: Type.Number({ minimum: 0, maximum: 120, default: 10, description: 'an hour is summarised for the cloud this long after it ended (late visits settle first)' }),
    summaryLookbackHours: Type.Integer({ minimum: 1, maximum: 720, default: 24, description: 'closed hours looked at again for changed summaries (and summarised after downtime)' }),
  },
  { additionalProperties: false, default: {} },
);

const ModelPath = (description: string) => Type.String({ minLength: 1, pattern: '\\.(onnx|json)$', description });

export const VisionSection = Type.Object(
  {
    detector: Type.Optional(
      Type.Object(
        {
          model: ModelPath('person detector: an .onnx file with its manifest next to it or in models/, or the manifest itself'),
          threads: Type.Integer({ minimum: 1, maximum: 16, default: 1, description: 'onnxruntime intra-op threads per detector session' }),
          scoreThreshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: "overrides the manifest's score threshold" })),
        },
        { additionalProperties: false },
      ),
    ),
    reid: Type.Optional(
      Type.Object(
        {
          model: ModelPath('person re-identification embedder used to merge tracks of overlapping cameras'),
        },
        { additionalProperties: false },
      ),
    ),
    motion: Type.Object(
      {
        gate: Type.Boolean({ default: true, description: 'run the detector only on frames where something moved' }),
        analysisWidth: Type.Integer({ minimum: 32, maximum: 640, default: 160, description: 'width of the grey frame background subtraction runs on' }),
        refreshSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 600, default: 5, description: 'detect at least this often even when nothing moved' }),
      },
      { additionalProperties: false, default: {} },
    ),
    tracker: Type.Object(
      {
        birthFrames: Type.Integer({ minimum: 1, maximum: 30, default: 2, description: 'frames a person must be seen on before the track counts' }),
        lostBufferSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 60, default: 2, description: 'how long an unseen track waits to be found again' }),
      },
      { additionalProperties: false, default: {} },
    ),
    storeTracks: Type.Object(
      {
        gateM: Type.Number({ exclusiveMinimum: 0, maximum: 5, default: 0.7, description: 'tracks of two cameras closer than this on the floor are one shopper' }),
        endAfterSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 60, default: 3, description: 'a shopper track no camera sees for this long ends' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

const EpcPrefix = Type.String({ pattern: '^[0-9A-Fa-f]{1,24}$', description: 'hex EPC prefix' });

export const AnalyticsSection = Type.Object(
  {
    zones: Type.Object(
      {
        enterObservations: Type.Integer({ minimum: 1, maximum: 50, default: 3, description: 'consecutive observations inside a zone before a visit starts' }),
        exitSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 120, default: 2, description: 'seconds outside a zone before a visit ends: a missed detection never splits a visit' }),
      },
      { additionalProperties: false, default: {} },
    ),
    lingeringSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 3600, default: 20, description: 'a shopper in a shelf-front zone this long without a pick is lingering (an event for screens)' }),
    pickReachM: Type.Number({ exclusiveMinimum: 0, maximum: 5, default: 1.5, description: 'a pick is credited to the nearest shopper within this distance of the shelf front' }),
    heatmap: Type.Object(
      {
        cellM: Type.Number({ minimum: 0.05, maximum: 5, default: 0.25, description: 'side of a heatmap floor cell, metres' }),
        sampleSeconds: Type.Number({ minimum: 0.05, maximum: 5, default: 0.2, description: 'each shopper counts once per cell per this interval' }),
        stationaryRadiusM: Type.Number({ exclusiveMinimum: 0, maximum: 5, default: 0.5, description: 'a "shopper" that stays within this radius…' }),
        stationarySeconds: Type.Number({ exclusiveMinimum: 0, maximum: 86_400, default: 300, description: '…for this long is an object (mannequin, broom): that stretch does not count' }),
      },
      { additionalProperties: false, default: {} },
    ),
    staffBadges: Type.Array(EpcPrefix, { default: [], description: 'EPC prefixes of staff badge tags: a shopper track next to a badge read is staff and never counted' }),
  },
  { additionalProperties: false, default: {} },
);

export const RecognitionSection = Type.Object(
  {
    model: Type.String({ minLength: 1, pattern: '\\.(onnx|json)$', description: "product recognition model: the project's embedder (matched against the gallery) or a classifier whose labels are product ids" }),
    maxBatch: Type.Integer({ minimum: 1, maximum: 64, default: 8, description: 'crops waiting together go through the network as one batch of at most this many' }),
    topK: Type.Integer({ minimum: 1, maximum: 50, default: 5, description: 'products returned per crop' }),
    unknownBelow: Type.Optional(Type.Number({ minimum: -1, maximum: 1, description: "similarity below which a crop is unknown; default: calibrated from the gallery's own references" })),
  },
  { additionalProperties: false },
);

export const CheckoutSection = Type.Object(
  {
    reviewBelow: Type.Number({ minimum: 0, maximum: 1, default: 0.6, description: 'a receipt line less certain than this goes to the staff review queue instead of the bill' }),
    reachM: Type.Number({ exclusiveMinimum: 0, maximum: 5, default: 1.3, description: 'a shopper farther than this from the plates that changed cannot have caused a weight event' }),
    reachSigmaM: Type.Number({ exclusiveMinimum: 0, maximum: 2, default: 0.15, description: 'spread of where a shopper stands when reaching a plate (tracking error included)' }),
    entryBindSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 60, default: 4, description: 'a track appearing at the gate this long after a pass in is bound to the token scanned there' }),
    tokenOpenSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 300, default: 20, description: 'members of a party pass in on one scanned token within this long of the scan' }),
    gateNearM: Type.Number({ exclusiveMinimum: 0, maximum: 10, default: 2.5, description: 'a track this close to a gate\'s zone when the gate reports a pass is the one passing' }),
    exitLostSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 600, default: 10, description: 'a member whose track is lost near an exit and not found again for this long has left' }),
    reassociateSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 3600, default: 60, description: 'a track lost mid-store may come back as a new track within this long' }),
    reassociateSpeedMps: Type.Number({ exclusiveMinimum: 0, maximum: 5, default: 1.5, description: 'how far a lost shopper may have walked per second before reappearing' }),
    abandonMinutes: Type.Number({ exclusiveMinimum: 0, maximum: 1440, default: 30, description: 'a session with every member lost this long is closed, its receipt held for review' }),
  },
  { additionalProperties: false, default: {} },
);

/** Days each class of facts is kept on the box; the retention job deletes older rows. */
export const StockSection = Type.Object(
  {
    lowUnits: Type.Integer({ minimum: 0, maximum: 1000, default: 2, description: 'a facing with this many units or fewer is low on stock (products may set their own lowStockUnits)' }),
    quietSeconds: Type.Number({ minimum: 0.2, maximum: 60, default: 2, description: 'a shelf this long without an unfinished weight change is settled: its plates are read as stock' }),
    restockMinutes: Type.Number({ exclusiveMinimum: 0, maximum: 240, default: 10, description: 'a restock (staff badge at the shelf, or started on the admin page) lasts this long after its last sign' }),
    driftTracking: Type.Number({ minimum: 0, maximum: 1, default: 0.1, description: "share of a settled plate's residual (its grams off a whole number of units) taken into its zero each look: follows slow drift" }),
  },
  { additionalProperties: false, default: {} },
);

export const AlertsSection = Type.Object(
  {
    deviceDownSeconds: Type.Number({ minimum: 0, maximum: 86400, default: 120, description: 'a device offline this long raises a device-down alert (resolved when it is back)' }),
    diskLowMb: Type.Number({ minimum: 0, default: 1024, description: 'free space on the data directory\'s disk under this raises a disk-low alert' }),
    diskCheckSeconds: Type.Number({ minimum: 5, maximum: 3600, default: 60, description: 'how often free disk space is measured' }),
    diskCriticalMb: Type.Number({ minimum: 0, default: 256, description: 'free space under this: retention runs at once, and the checkout stops opening new shopper sessions (scans at the gate are refused) until space is back, so no committed fact is ever lost to a full disk' }),
    clockJumpSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 3600, default: 2, description: 'the wall clock moving this much more or less than the monotonic clock between two checks is a clock jump (an alert)' }),
  },
  { additionalProperties: false, default: {} },
);

export const RetentionSection = Type.Object(
  {
    observationsDays: Type.Integer({ minimum: 1, default: 7, description: 'weight events, tracks, tag reads' }),
    sessionsDays: Type.Integer({ minimum: 1, default: 30, description: 'shopper sessions and cart ledgers' }),
    receiptsDays: Type.Integer({ minimum: 1, default: 400, description: 'receipts and review decisions' }),
    analyticsDays: Type.Integer({ minimum: 1, default: 400, description: 'dwell, heatmaps, footfall, exposures' }),
    operationsDays: Type.Integer({ minimum: 1, default: 90, description: 'agent runs, device events, config snapshots' }),
    intervalMinutes: Type.Integer({ minimum: 1, maximum: 1440, default: 60, description: 'how often the retention job runs' }),
  },
  { additionalProperties: false, default: {} },
);

export const StoreConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'path to store.schema.json, for editors' })),
    version: Type.Integer({ minimum: 1, description: `configuration format version; this agent writes ${CONFIG_VERSION}` }),
    store: StoreSection,
    dataDir: Type.String({ default: './data', minLength: 1, description: 'directory of the SQLite database (relative to the working directory)' }),
    admin: AdminSection,
    log: LogSection,
    cameras: Type.Array(Camera, { default: [] }),
    vision: VisionSection,
    gondolas: Type.Array(Gondola, { default: [] }),
    planogram: Planogram,
    rfid: RfidSection,
    gates: Type.Array(Gate, { default: [] }),
    zones: Type.Array(Zone, { default: [] }),
    screens: Type.Array(Screen, { default: [] }),
    signage: SignageSection,
    analytics: AnalyticsSection,
    recognition: Type.Optional(RecognitionSection),
    checkout: CheckoutSection,
    mqtt: MqttSection,
    alerts: AlertsSection,
    stock: StockSection,
    retention: RetentionSection,
  },
  { additionalProperties: false, title: 'Store configuration' },
);

export type StoreConfig = Type.Static<typeof StoreConfigSchema>;
export type CameraConfig = Type.Static<typeof Camera>;
export type VisionConfig = Type.Static<typeof VisionSection>;
export type GondolaConfig = Type.Static<typeof Gondola>;
export type ShelfConfig = Type.Static<typeof Shelf>;
export type PlateConfig = Type.Static<typeof Plate>;
export type ProductConfig = Type.Static<typeof Product>;
export type RfidReaderConfig = Type.Static<typeof RfidReader>;
export type GateConfig = Type.Static<typeof Gate>;
export type ZoneConfig = Type.Static<typeof Zone>;
export type ScreenConfig = Type.Static<typeof Screen>;
export type AnalyticsConfig = Type.Static<typeof AnalyticsSection>;
export type RecognitionConfig = Type.Static<typeof RecognitionSection>;
export type CheckoutConfig = Type.Static<typeof CheckoutSection>;
export type MqttConfig = Type.Static<typeof MqttSection>;
export type RetentionConfig = Type.Static<typeof RetentionSection>;
export type AlertsConfig = Type.Static<typeof AlertsSection>;
export type StockConfig = Type.Static<typeof StockSection>;
export type SignageConfig = Type.Static<typeof SignageSection>;
export type SignageRuleConfig = Type.Static<typeof SignageRule>;
export type PromotionConfig = Type.Static<typeof Promotion>;
export type QuietHoursConfig = Type.Static<typeof QuietHours>;
export type DataClass = Exclude<keyof RetentionConfig, 'intervalMinutes'> extends `${infer C}Days` ? C : never;
