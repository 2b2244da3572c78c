/**
 * The `edge-agent` command line. Each command lives in `cli/`; this file only parses flags.
 * Exit codes: 0 success, 1 runtime failure, 2 bad input (usage or configuration).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { checkConfig } from './cli/check-config.js';
import { configDocs } from './cli/config-docs.js';
import { EXIT_BAD_INPUT, EXIT_FAILURE, processIo, type CliIo } from './cli/output.js';
import { runDemo } from './cli/demo.js';
import { replayCommand, type ReplayCliOptions } from './cli/replay.js';
import { bench } from './cli/bench.js';
import { analyticsHeatmapCommand, analyticsReportCommand, markStaffCommand, type AnalyticsRangeOptions, type HeatmapCliOptions, type MarkStaffOptions } from './cli/analytics.js';
import { syncTail, type SyncTailOptions } from './cli/sync.js';
import { screensReport, screensUrls, type ScreensOptions } from './cli/screens.js';
import { userAdd, userList, userPassword, userSetDisabled, type UserOptions } from './cli/users.js';
import { receiptsCommand, reviewDecideCommand, reviewListCommand, type CheckoutCliOptions, type ReceiptsOptions, type ReviewDecideOptions } from './cli/checkout.js';
import { galleryAdd, galleryList, galleryRemove, type GalleryAddOptions, type GalleryOptions } from './cli/gallery.js';
import { evalAnalytics, evalReceipts, evalRecognition, evalRfid, evalShelf, evalStock, type EvalAnalyticsOptions, type EvalReceiptsOptions, type EvalRecognitionOptions, type EvalStockOptions } from './cli/eval.js';
import { evalMot } from './cli/eval-mot.js';
import { recordCommand, type RecordCliOptions } from './cli/record.js';
import { calibrateScale, type CalibrateScaleOptions } from './cli/calibrate.js';
import { calibrateCamera, type CalibrateCameraOptions } from './cli/calibrate-camera.js';
import { runAgent, type RunOverrides } from './cli/run.js';
import { simulate, type SimOptions } from './cli/sim.js';
import { createRootLogger } from './log.js';
import { describeError } from './errors.js';
import { LOG_LEVELS } from './log.js';
import { agentVersion, DEMO_CONFIG } from './paths.js';

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('must be an integer from 0 to 65535');
  return n;
}

/** The store whose database a staff command works on (the agent may be running on it). */
function storeFlags(command: Command): Command {
  return command
    .option('-c, --config <file>', 'store configuration', DEMO_CONFIG())
    .option('--data-dir <dir>', "data directory of the store database (default: the configuration's)");
}

function integer(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('must be an integer');
  return Number(value);
}

function addRunFlags(command: Command): Command {
  return command
    .option('--port <port>', 'admin HTTP port (overrides admin.port; 0 picks a free port)', port)
    .option('--host <address>', 'admin HTTP address (overrides admin.host)')
    .option('--data-dir <dir>', 'directory of the SQLite database (overrides dataDir)')
    .addOption(new Option('--log-level <level>', 'log level (overrides log.level and LOG_LEVEL)').choices(LOG_LEVELS as string[]));
}

export function buildCli(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('edge-agent')
    .description('Edge runtime for checkout-free stores')
    .version(agentVersion())
    .showHelpAfterError('(run edge-agent --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride();

  addRunFlags(program.command('run').description('run the agent for a store').requiredOption('-c, --config <file>', 'store configuration file')).action(
    async (opts: RunOverrides & { config: string }) => setExit(await runAgent(opts.config, opts, io)),
  );

  addRunFlags(program.command('demo').description('run the demo store (device-config/demo-store.json) on the live store simulator'))
    .option('--seed <n>', 'simulator seed', integer, 1)
    .option('--shoppers-per-hour <n>', 'how many shoppers the simulator sends in', integer, 120)
    .action(async (opts: RunOverrides & { seed: number; shoppersPerHour: number }) => setExit(await runDemo(opts, io)));

  program
    .command('sim')
    .description('simulate a store day and write it as a recording (or --live: play it on live devices)')
    .option('--config <file>', 'store configuration', DEMO_CONFIG())
    .option('--seed <n>', 'seed: the same seed gives the same day, to the byte', integer, 1)
    .option('--minutes <m>', 'length of the day', Number, 5)
    .option('--shoppers <k>', 'shoppers arriving', integer, 10)
    .addOption(new Option('--profile <profile>', 'difficulty').choices(['easy', 'busy', 'stock']).default('easy'))
    .option('--knobs <json>', 'scenario knobs as JSON, e.g. \'{"putBackRate":0.2}\'')
    .option('--out <dir>', 'recording folder to write (must be new or empty)')
    .option('--no-video', 'skip camera video (shelves and gates only)')
    .option('--live', 'play live on pseudo-terminals and MJPEG streams until stopped; prints the device map')
    .option('--shoppers-per-hour <n>', 'arrival rate when --live', integer, 120)
    .action(async (opts: SimOptions) => setExit(await simulate(opts, io, createRootLogger({ level: (process.env['LOG_LEVEL'] as 'info' | undefined) ?? 'warn' }))));

  const calibrate = program.command('calibrate').description('calibrate devices');
  calibrate
    .command('scale')
    .description('tare and span of one plate from a known mass (stop the agent first: it talks to the shelf controller directly)')
    .requiredOption('--plate <G.S.P>', 'plate to calibrate, e.g. 1.2.3')
    .requiredOption('--known <grams>', 'mass of the reference weight in grams', Number)
    .option('--config <file>', 'store configuration', DEMO_CONFIG())
    .option('--operator <name>', 'who calibrates (recorded with the result; default: the login name)')
    .option('--data-dir <dir>', 'data directory of the store database (default: the configuration\'s)')
    .option('--seconds <s>', 'how long each reading is measured', Number, 2)
    .action(async (opts: CalibrateScaleOptions) => setExit(await calibrateScale(opts, io, createRootLogger({ level: 'warn' }))));
  calibrate
    .command('camera')
    .description("a camera's floor homography from marked image↔floor point pairs, with its reprojection error")
    .requiredOption('--camera <id>', 'camera id')
    .requiredOption('--points <file>', 'point pairs: CSV lines u,v,x,y (pixels, metres) or JSON {imageSize, pairs:[{image:[u,v], floor:[x,y]}]}')
    .option('--config <file>', "store configuration: the camera's detect size and calibration file")
    .option('--out <file>', "where to write it (default: the camera's configured calibration, else calibration/<camera>.json)")
    .option('--operator <name>', 'who calibrates (recorded with the result)')
    .option('--ransac-threshold-m <m>', 'largest floor error of a pair counted as an inlier', Number)
    .option('--mount-height <m>', 'height of the lens above the floor: overhead positions are corrected for body height', Number)
    .option('--mount-at <x,y>', 'floor point under the lens when it does not look straight down', (v: string) => v.split(',').map(Number) as [number, number])
    .action(async (opts: Omit<CalibrateCameraOptions, 'mountHeightM'> & { mountHeight?: number }) => {
      const { mountHeight, ...rest } = opts;
      setExit(await calibrateCamera({ ...rest, ...(mountHeight !== undefined ? { mountHeightM: mountHeight } : {}) }, io));
    });

  program
    .command('record')
    .description('capture the live feeds of a store into a recording folder (stop the agent first: it needs the ports)')
    .requiredOption('--out <dir>', 'new recording folder')
    .option('--config <file>', 'store configuration', DEMO_CONFIG())
    .option('--minutes <m>', 'stop after this long (default: until Ctrl-C)', Number)
    .option('--sim-map <file>', 'device map printed by a running `edge-agent sim --live`, to record the simulator')
    .option('--data-dir <dir>', 'data directory whose plate calibrations go into the recording')
    .action(async (opts: RecordCliOptions) => setExit(await recordCommand(opts, io, createRootLogger({ level: 'warn' }))));

  const sync = program.command('sync').description('cloud sync over MQTT');
  sync
    .command('tail')
    .description("print every message on the store's topics as a JSON line (topic, retained, payload) until interrupted")
    .option('-c, --config <file>', 'store configuration', DEMO_CONFIG())
    .option('--url <url>', "broker to listen to (default: the configuration's mqtt.url)")
    .option('--count <n>', 'stop after this many messages', integer)
    .option('--idle-seconds <s>', 'stop when nothing arrives for this long', Number)
    .action(async (opts: SyncTailOptions) => {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      setExit(await syncTail(opts, io, stop.signal));
    });

  const analytics = program.command('analytics').description('shopper analytics in the store database: reports, heatmaps, staff');
  analytics
    .command('report')
    .description('footfall, conversion, visit durations and top dwell zones per hour (JSON on the last line)')
    .option('-c, --config <file>', 'store configuration', DEMO_CONFIG())
    .option('--data-dir <dir>', "data directory of the store database (default: the configuration's)")
    .option('--from <iso>', 'start of the range (default: 24 hours before --to)')
    .option('--to <iso>', 'end of the range (default: now)')
    .action(async (opts: AnalyticsRangeOptions) => setExit(await analyticsReportCommand(opts, io, createRootLogger({ level: 'warn' }))));
  analytics
    .command('heatmap')
    .description('occupancy heatmap of a time range as a PNG over the floor plan')
    .requiredOption('--out <file>', 'PNG file to write')
    .option('-c, --config <file>', 'store configuration', DEMO_CONFIG())
    .option('--data-dir <dir>', "data directory of the store database (default: the configuration's)")
    .option('--from <iso>', 'start of the range (default: 24 hours before --to)')
    .option('--to <iso>', 'end of the range (default: now)')
    .option('--pixels-per-metre <n>', 'image scale', Number)
    .action(async (opts: HeatmapCliOptions) => setExit(await analyticsHeatmapCommand(opts, io, createRootLogger({ level: 'warn' }))));
  analytics
    .command('mark-staff')
    .description('mark a shopper track as a member of staff: its visits stop counting (a running agent applies it within seconds)')
    .argument('<shopper>', 'shopper track id')
    .option('-c, --config <file>', 'store configuration', DEMO_CONFIG())
    .option('--data-dir <dir>', "data directory of the store database (default: the configuration's)")
    .option('--by <name>', 'who marks it (default: the login name)')
    .action(async (shopper: string, opts: Omit<MarkStaffOptions, 'shopper'>) => setExit(await markStaffCommand({ ...opts, shopper }, io, createRootLogger({ level: 'warn' }))));

  program
    .command('receipts')
    .description('receipts in the store database with their lines (billed, in review, rejected)')
    .option('-c, --config <file>', 'store configuration', DEMO_CONFIG())
    .option('--data-dir <dir>', "data directory of the store database (default: the configuration's)")
    .option('--from <iso>', 'sessions that ended from (default: 24 hours ago)')
    .option('--to <iso>', 'sessions that ended before (default: now)')
    .action(async (opts: ReceiptsOptions) => setExit(await receiptsCommand(opts, io, createRootLogger({ level: 'warn' }))));
  const user = program.command('user').description('admin page users (stop nothing: the agent may run)');
  storeFlags(user.command('add').description('add a user; the password is asked for (or read from standard input)').argument('<username>'))
    .addOption(new Option('--role <role>', 'what the user may do').choices(['admin', 'staff', 'viewer']).default('staff'))
    .option('--password-stdin', 'read the password from the first line of standard input')
    .action(async (username: string, opts: Omit<UserOptions, 'username'>) => setExit(await userAdd({ ...opts, username }, io, createRootLogger({ level: 'warn' }))));
  storeFlags(user.command('passwd').description("set a user's password (ends their sessions)").argument('<username>'))
    .option('--password-stdin', 'read the password from the first line of standard input')
    .action(async (username: string, opts: Omit<UserOptions, 'username'>) => setExit(await userPassword({ ...opts, username }, io, createRootLogger({ level: 'warn' }))));
  storeFlags(user.command('disable').description('disable a user (ends their sessions)').argument('<username>')).action(async (username: string, opts: Omit<UserOptions, 'username'>) =>
    setExit(await userSetDisabled({ ...opts, username }, true, io, createRootLogger({ level: 'warn' }))),
  );
  storeFlags(user.command('enable').description('enable a user again (and unlock them)').argument('<username>')).action(async (username: string, opts: Omit<UserOptions, 'username'>) =>
    setExit(await userSetDisabled({ ...opts, username }, false, io, createRootLogger({ level: 'warn' }))),
  );
  storeFlags(user.command('list').description('every user with their role')).action(async (opts: Omit<UserOptions, 'username'>) => setExit(await userList(opts, io, createRootLogger({ level: 'warn' }))));
  const screens = program.command('screens').description('shelf screens');
  storeFlags(screens.command('urls').description("the address each screen's browser opens, with its token (JSON on the last line)"))
    .option('--base-url <url>', 'the admin server as the screens reach it, e.g. http://10.0.0.5:8080')
    .action(async (opts: ScreensOptions) => setExit(await screensUrls(opts, io, createRootLogger({ level: 'warn' }))));
  storeFlags(screens.command('report').description('cards shown and picks attributed per screen and hour, and the uplift of triggered cards over idle content (JSON on the last line)'))
    .option('--from <iso>', 'from (default: 24 hours ago)')
    .option('--to <iso>', 'before (default: now)')
    .action(async (opts: ScreensOptions) => setExit(await screensReport(opts, io, createRootLogger({ level: 'warn' }))));
  const review = program.command('review').description('the staff review queue: receipt lines the agent was not sure enough to bill');
  review
    .command('list')
    .description('open review items with their evidence (--all: decided ones too)')
    .option('-c, --config <file>', 'store configuration', DEMO_CONFIG())
    .option('--data-dir <dir>', "data directory of the store database (default: the configuration's)")
    .option('--all', 'decided items too')
    .action(async (opts: CheckoutCliOptions & { all?: boolean }) => setExit(await reviewListCommand(opts, io, createRootLogger({ level: 'warn' }))));
  review
    .command('decide')
    .description("decide a review item: accept the proposal, reject it, or correct product/quantity; the receipt's last decision publishes receipt.adjusted")
    .argument('<id>', 'review item id')
    .option('-c, --config <file>', 'store configuration', DEMO_CONFIG())
    .option('--data-dir <dir>', "data directory of the store database (default: the configuration's)")
    .option('--accept', 'bill what the agent proposed')
    .option('--reject', 'bill nothing for it')
    .option('--product <id>', 'the product really taken')
    .option('--quantity <n>', 'the units really taken', integer)
    .option('--by <name>', 'who decides (default: the login name)')
    .action(async (id: string, opts: Omit<ReviewDecideOptions, 'id'>) => setExit(await reviewDecideCommand({ ...opts, id }, io, createRootLogger({ level: 'warn' }))));

  const gallery = program.command('gallery').description('reference vectors products are recognised by (the store database)');
  gallery
    .command('add')
    .description('embed reference photos of a product (or the simulated packaging of every product) and store them')
    .argument('[images...]', 'reference images of --product (JPEG, PNG)')
    .option('--product <id>', 'planogram product the images show')
    .option('--from-sim-packaging', "every planogram product's simulated packaging (the demo store)")
    .option('-c, --config <file>', 'store configuration', DEMO_CONFIG())
    .option('--data-dir <dir>', "data directory of the store database (default: the configuration's)")
    .option('--model <file>', 'recognition model (default: recognition.model of the configuration)')
    .option('--by <name>', 'who adds them (default: the login name)')
    .action(async (images: string[], opts: Omit<GalleryAddOptions, 'images'>) => setExit(await galleryAdd({ ...opts, images }, io, createRootLogger({ level: 'warn' }))));
  gallery
    .command('list')
    .description('products with reference vectors for the recognition model, and those without')
    .option('-c, --config <file>', 'store configuration', DEMO_CONFIG())
    .option('--data-dir <dir>', "data directory of the store database (default: the configuration's)")
    .option('--model <file>', 'recognition model (default: recognition.model of the configuration)')
    .action(async (opts: GalleryOptions) => setExit(await galleryList(opts, io, createRootLogger({ level: 'warn' }))));
  gallery
    .command('remove')
    .description("remove a product's reference vectors for the recognition model")
    .requiredOption('--product <id>', 'product')
    .option('-c, --config <file>', 'store configuration', DEMO_CONFIG())
    .option('--data-dir <dir>', "data directory of the store database (default: the configuration's)")
    .option('--model <file>', 'recognition model (default: recognition.model of the configuration)')
    .action(async (opts: GalleryOptions & { product: string }) => setExit(await galleryRemove(opts, io, createRootLogger({ level: 'warn' }))));

  const evaluate = program.command('eval').description('score the agent against ground truth');
  evaluate
    .command('shelf')
    .description('replay a simulated recording and score its weight events against the truth (JSON on the last line)')
    .requiredOption('--recording <dir>', 'recording with truth/weight-events.jsonl')
    .option('--data-dir <dir>', 'empty directory for the replay database (default: a new temporary one)')
    .option('--min-grams <g>', 'products lighter than this are left out of the item accuracy', Number, 20)
    .action(async (opts: { recording: string; dataDir?: string; minGrams: number }) => setExit(await evalShelf(opts, io, createRootLogger({ level: 'warn' }))));

  evaluate
    .command('rfid')
    .description('replay a simulated recording and score the exit gate: direction, lingering tags, double billing (JSON on the last line)')
    .requiredOption('--recording <dir>', 'recording with truth/rfid-passages.jsonl')
    .option('--data-dir <dir>', 'empty directory for the replay database (default: a new temporary one)')
    .action(async (opts: { recording: string; dataDir?: string }) => setExit(await evalRfid(opts, io, createRootLogger({ level: 'warn' }))));

  evaluate
    .command('analytics')
    .description("score zones, dwell, heatmap and pick credit on a simulated recording's true floor positions, with missed detections and noise added (JSON on the last line)")
    .requiredOption('--recording <dir>', 'recording with truth/tracks.jsonl and truth/dwell.jsonl')
    .option('--data-dir <dir>', 'empty directory for the database (default: a new temporary one)')
    .option('--miss-rate <share>', 'share of observations dropped, each on its own', Number, 0.1)
    .option('--noise-m <m>', 'position noise (standard deviation, metres)', Number, 0.1)
    .option('--seed <n>', 'seed of the misses and the noise', integer, 1)
    .action(async (opts: EvalAnalyticsOptions) => setExit(await evalAnalytics(opts, io, createRootLogger({ level: 'warn' }))));

  evaluate
    .command('receipts')
    .description("replay a simulated recording and score its receipts per paying token against the truth: F1 of billed units, review share, latency (JSON on the last line)")
    .requiredOption('--recording <dir>', 'recording with truth/receipts.jsonl (and truth/tracks.jsonl when it has no video)')
    .option('--data-dir <dir>', 'empty directory for the replay database (default: a new temporary one)')
    .option('--noise-m <m>', 'position noise of the true floor positions without video (standard deviation, metres)', Number, 0.1)
    .option('--miss-rate <share>', 'share of true floor positions dropped without video, each on its own', Number, 0.05)
    .option('--seed <n>', 'seed of the misses and the noise', integer, 1)
    .action(async (opts: EvalReceiptsOptions) => setExit(await evalReceipts(opts, io, createRootLogger({ level: 'warn' }))));

  evaluate
    .command('stock')
    .description("replay a simulated day (edge-agent sim --profile stock) and hold the agent's stock per facing and its stock alerts against the truth (JSON on the last line)")
    .requiredOption('--recording <dir>', 'recording with truth/stock.jsonl, truth/stock-faults.jsonl and truth/restocks.jsonl')
    .option('--data-dir <dir>', 'empty directory for the replay database (default: a new temporary one)')
    .option('--noise-m <m>', 'position noise of the true floor positions (standard deviation, metres)', Number, 0.1)
    .option('--miss-rate <share>', 'share of true floor positions dropped', Number, 0.05)
    .option('--seed <n>', 'seed of the misses and the noise', integer, 1)
    .action(async (opts: EvalStockOptions) => setExit(await evalStock(opts, io, createRootLogger({ level: 'warn' }))));

  evaluate
    .command('recognition')
    .description('recognise the products of a labelled image list against a gallery built from another list: top-1/top-5 fine and coarse (JSON on the last line)')
    .requiredOption('--root <dir>', 'folder the list paths are relative to')
    .requiredOption('--list <file>', 'images to recognise: "path, fineId, coarseId" per line')
    .option('--gallery-list <file>', 'images whose vectors make the gallery (default: train.txt next to --list)')
    .option('--model <file>', 'product embedder (default: models/product_embedder.onnx)')
    .option('--candidates <n>', 'size of the candidate sets drawn from the true product\'s coarse class', integer, 5)
    .option('--seed <n>', 'seed of the candidate sets', integer, 1)
    .action(async (opts: EvalRecognitionOptions) => setExit(await evalRecognition(opts, io)));

  evaluate
    .command('mot')
    .description('track people on a MOT-format sequence and score the tracks: MOTA, IDF1, ID switches (JSON on the last line)')
    .requiredOption('--frames <dir>', 'folder of the frames (MOT img1/ or any folder of numbered images)')
    .requiredOption('--gt <file>', 'ground truth, MOT format (frame,id,left,top,width,height,conf,…)')
    .option('--det <file>', 'public detections, MOT format')
    .option('--model <file>', 'run this person detector (.onnx with its manifest) on the frames instead of using --det')
    .option('--fps <n>', "frame rate (default: seqinfo.ini's frameRate, else 7)", Number)
    .action(async (opts: { frames: string; gt: string; det?: string; model?: string; fps?: number }) => setExit(await evalMot(opts, io)));

  program
    .command('bench')
    .description('measure performance figures (markdown on stderr, JSON on the last line)')
    .argument('[names...]', 'benchmarks to run: vision, shelf, recognition, analytics, sync, facts, checkout (default: all)')
    .option('--video <file>', 'vision: a recorded 640×360 video (default: PETS 2009 from ../shared, else a simulated store)')
    .option('--model <file...>', 'vision: detector models (default: the reference detectors in ../shared/models)')
    .option('--frames <n>', 'vision: frames through the pipeline per model', Number)
    .option('--seconds <s>', 'vision: seconds of the sustained multi-camera run per model', Number)
    .action(async (names: string[], opts: { video?: string; model?: string[]; frames?: number; seconds?: number }) =>
      setExit(
        await bench(names, io, {
          vision: {
            ...(opts.video ? { video: opts.video } : {}),
            ...(opts.model ? { models: opts.model } : {}),
            ...(opts.frames ? { frames: opts.frames } : {}),
            ...(opts.seconds ? { sustainSeconds: opts.seconds } : {}),
          },
        }),
      ),
    );

  program
    .command('replay')
    .description('run the agent on a recording in recording time; prints a JSON summary')
    .argument('<dir>', 'recording folder (or an AutoCheckout export with --format autocheckout)')
    .option('--speed <n>', 'playback speed: 1 = as recorded, "max" = as fast as possible', 'max')
    .option('--data-dir <dir>', 'empty directory for the replay\'s database (default: a new temporary one)')
    .option('--port <port>', 'admin HTTP port while replaying (default: a free one)', port)
    .option('--format <format>', '"recording" or "autocheckout"', 'recording')
    .option('--catalog <file>', 'AutoCheckout product catalogue CSV')
    .option('--events', 'print every weight event as a JSON line before the summary')
    .option('--truth-floor', "a simulated recording without video: the simulator's true floor positions (with detector-like noise and misses) stand in for the cameras")
    .option('--floor-noise <m>', 'with --truth-floor: position noise (standard deviation, metres)', Number, 0.1)
    .option('--floor-miss <share>', 'with --truth-floor: share of positions dropped as missed detections', Number, 0.05)
    .option('--resume-from <ms>', 'store time (ms since the epoch) to resume an interrupted replay from, into its --data-dir', integer)
    .option('--sync-url <url>', 'publish the outbox to this broker during the replay')
    .option('--progress', 'print {"at": storeTime} on standard output four times a second')
    .action(async (dir: string, opts: ReplayCliOptions) =>
      setExit(await replayCommand(dir, opts, io, createRootLogger({ level: (process.env['LOG_LEVEL'] as 'info' | undefined) ?? 'warn' }))),
    );

  program
    .command('check-config')
    .description('validate a store configuration; prints every error as "path: message", exits 2 when invalid')
    .argument('<file>', 'store configuration file')
    .action(async (file: string) => setExit(await checkConfig(file, io)));

  program
    .command('config-docs')
    .description('regenerate device-config/REFERENCE.md and store.schema.json from the schema')
    .option('--check', 'only check that the generated files are current')
    .action(async (opts: { check?: boolean }) => setExit(await configDocs(opts.check === true, io)));

  return program;
}

/** Runs the CLI and resolves with the process exit code. */
export async function main(argv: readonly string[] = process.argv, io: CliIo = processIo): Promise<number> {
  let code = 0;
  const program = buildCli(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv as string[]);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return err.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
    }
    io.err(`error: ${describeError(err)}`);
    return EXIT_FAILURE;
  }
  return code;
}
