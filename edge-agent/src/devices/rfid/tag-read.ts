/** One sighting of an RFID tag by one antenna of one reader. */
export interface TagRead {
  /** Reader id from the configuration. */
  reader: string;
  /** Antenna port on the reader. */
  antenna: number;
  /** The tag's EPC, upper-case hexadecimal. */
  epc: string;
  /** Received signal strength, dBm; NaN when the reader does not report it. */
  rssi: number;
  /** Store time of reception. */
  at: number;
}

/** Where reads go. The adapter may reuse the object it passes: a consumer copies what it keeps. */
export type TagReadSink = (read: TagRead) => void;
