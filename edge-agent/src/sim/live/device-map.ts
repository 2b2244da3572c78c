/** What `edge-agent sim --live` prints when its devices are up: how the agent reaches each one. */
export interface LiveDeviceMap {
  /** sim name (from `sim://name` in the store configuration) → the URL the agent should open. */
  devices: Record<string, string>;
  /** Calibration of the simulated plates, as an importable file. */
  calibration: string;
  /** Folder holding the pseudo-terminals and the calibration file. */
  dir: string;
}
