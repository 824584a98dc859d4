/** One multicast session: an artifact sent to a group, in blocks (docs/multicast.md). */
export interface SessionSpec {
  /** The multicast group, e.g. 239.255.70.1. */
  readonly group: string;
  readonly port: number;
  /** Lower-case hex sha256 of the whole artifact. */
  readonly sha256: string;
  readonly size: number;
  /** Payload bytes per datagram. */
  readonly blockSize: number;
  /** Per-chunk sha256s from the signed plan, when it carries them: a bad chunk is dropped at once and repaired. */
  readonly chunks?: { readonly size: number; readonly sha256: readonly string[] };
}

/** Rounds a sender makes at most (the later ones only while a receiver is not done). */
export const DEFAULT_ROUNDS = 3;

/** Default pace: 100 Mbit/s, a fair share of a gigabit site network. */
export const DEFAULT_RATE = 12_500_000;
