/**
 * A shopper session: one paying token (an app QR code or a card tapped at the entry gate) and the
 * floor tracks bound to it — one per member of the party that came in on it. It ends when every
 * member has left through an exit, and then its cart becomes a receipt.
 */
export type JoinHow = 'entry' | 'reassociated' | 'restored';
/** 'replaced': the track was lost and the shopper carries on under a new track id. */
export type LeaveHow = 'exit-gate' | 'lost-at-exit' | 'abandoned' | 'replaced';
export type SessionEndReason = 'exit' | 'abandoned' | 'no-track';

export interface SessionMember {
  track: string;
  joinedAt: number;
  how: JoinHow;
  leftAt: number | null;
  leftHow: LeaveHow | null;
  /** The track ended away from any exit (or near one) and has not come back yet. */
  lost: { at: number; x: number; y: number; nearExit: boolean } | null;
  /** The gate pass that took the member out, when one did. */
  exitGateEventId: number | null;
}

export interface ShopperSession {
  id: number;
  token: string;
  gate: string;
  startedAt: number;
  members: SessionMember[];
  /** Passes in on the token still waiting for their track to appear. */
  awaitingTracks: number;
  endedAt: number | null;
  endReason: SessionEndReason | null;
}

export function activeMembers(session: ShopperSession): SessionMember[] {
  return session.members.filter((m) => m.leftAt === null);
}
