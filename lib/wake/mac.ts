/**
 * MAC addresses for Wake-on-LAN: parsed strictly, because a magic packet for a mistyped MAC
 * wakes nobody and says nothing. Accepts `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff`,
 * `aabb.ccdd.eeff` and `aabbccddeeff` (any case); refuses the all-zero address, the broadcast
 * address and group (multicast) addresses, none of which is one machine's network card.
 */

/** A MAC as six bytes and its canonical text (`aa:bb:cc:dd:ee:ff`, lower case). */
export interface Mac {
  readonly bytes: Buffer;
  readonly text: string;
}

export type MacParse = { readonly mac: Mac } | { readonly error: string };

const forms: readonly RegExp[] = [
  /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i,
  /^([0-9a-f]{2})-([0-9a-f]{2})-([0-9a-f]{2})-([0-9a-f]{2})-([0-9a-f]{2})-([0-9a-f]{2})$/i,
  /^([0-9a-f]{2})([0-9a-f]{2})\.([0-9a-f]{2})([0-9a-f]{2})\.([0-9a-f]{2})([0-9a-f]{2})$/i,
  /^([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i,
];

/** Parses a MAC address; the error says what is wrong with it, e.g. `"00:11:22:33:44" is not a MAC address (…)`. */
export function parseMac(text: string): MacParse {
  const t = text.trim();
  const m = forms.map((re) => re.exec(t)).find((x) => x !== null);
  if (!m) return { error: `"${text}" is not a MAC address (write it as aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff or aabbccddeeff)` };
  const bytes = Buffer.from(m.slice(1, 7).join(''), 'hex');
  const canonical = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
  if (bytes.every((b) => b === 0)) return { error: `${canonical} is the all-zero address, not a network card's` };
  if (bytes.every((b) => b === 0xff)) return { error: `${canonical} is the broadcast address, not a network card's` };
  if ((bytes[0]! & 1) === 1) return { error: `${canonical} is a multicast (group) address, not a network card's` };
  return { mac: { bytes, text: canonical } };
}
