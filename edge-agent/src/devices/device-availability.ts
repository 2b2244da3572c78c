export type DeviceKind = 'scale' | 'rfid' | 'gate' | 'camera';

/** A device came online or went offline; published on the bus only when it changes. */
export interface DeviceAvailability {
  /** Device id: a camera id, a reader id, a gate id, or `shelf-G.S` for a shelf controller. */
  device: string;
  kind: DeviceKind;
  online: boolean;
  reason?: string;
  at: number;
}

/** Builds the availability event every adapter announces; `reason` only says why it is offline. */
export function availability(device: string, kind: DeviceKind, online: boolean, reason: string | undefined, at: number): DeviceAvailability {
  return { device, kind, online, ...(online || reason === undefined ? {} : { reason }), at };
}
