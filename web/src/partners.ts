// A fixed colour per partner, so a partner's contributions look the same on every screen and every
// day. Known partners get hand-picked, mutually distinct colours; any other id gets a stable colour
// derived from its name.
const KNOWN: Record<string, string> = {
  GBR: "#d62728",
  CAN: "#ff7f0e",
  NLD: "#f2c200",
  FRA: "#1f77b4",
  "USA-USCG": "#2ca02c",
  JIATFS: "#9467bd",
  USA: "#17becf",
  ESP: "#e377c2",
  COL: "#8c564b",
};

/** The colour of a partner id (CSS hex). */
export function partnerColour(partner: string): string {
  const known = KNOWN[partner];
  if (known !== undefined) return known;
  let h = 2166136261;
  for (let i = 0; i < partner.length; i++) {
    h ^= partner.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  const hue = (h >>> 0) % 360;
  return hslToHex(hue, 0.65, 0.5);
}

function hslToHex(h: number, s: number, l: number): string {
  const k = (n: number): number => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): number => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  const hex = (x: number): string =>
    Math.round(x * 255)
      .toString(16)
      .padStart(2, "0");
  return `#${hex(f(0))}${hex(f(8))}${hex(f(4))}`;
}

/** A CSS background showing every contributing partner: one colour, or equal slices of a disc. */
export function partnerSwatch(partners: readonly string[]): string {
  if (partners.length === 0) return "#888";
  if (partners.length === 1) return partnerColour(partners[0] ?? "");
  const step = 360 / partners.length;
  const stops = partners.map(
    (p, i) => `${partnerColour(p)} ${(i * step).toFixed(1)}deg ${((i + 1) * step).toFixed(1)}deg`,
  );
  return `conic-gradient(${stops.join(", ")})`;
}
