// Wire types of the Caveat HTTP API v1, written from docs/api.md (the contract the server implements).
// When the server's /openapi.json lands these can be generated from it; until then, this file is the
// one place the web app states what it expects, so a mismatch shows up here and nowhere else.

/** A partner id such as `GBR`, `CAN`, `USA-USCG`. */
export type PartnerId = string;

/** A declared purpose. The server lists the deployment's purposes in `/v1/me`. */
export type Purpose = string;

export type Role = "analyst" | "watch-officer" | "boarding-officer" | "auditor" | "partner-admin";

/** `GET /v1/me` */
export interface Me {
  user: string;
  partner: PartnerId;
  roles: string[];
  partners: PartnerId[];
  purposes: Purpose[];
}

/** One row of `GET /v1/demo/users` (demo mode only). */
export interface DemoUser {
  user: string;
  partner: PartnerId;
  roles: string[];
  token: string;
}

export interface LatLon {
  lat: number;
  lon: number;
}

export interface TrailPoint extends LatLon {
  t: string;
  originator: PartnerId;
}

export interface Identity {
  mmsi?: string | null;
  imo?: string | null;
  name?: string | null;
  flag?: string | null;
  vessel_type?: string | null;
  [key: string]: unknown;
}

export interface TrackMarking {
  releasable_to?: PartnerId[] | null;
  purposes?: Purpose[] | null;
  no_export?: boolean | null;
  not_after?: string | null;
  requires_case?: boolean | null;
  [key: string]: unknown;
}

/** A fused track of the caller's view. */
export interface Track {
  id: string;
  status?: string;
  position: LatLon;
  course_deg?: number | null;
  speed_kn?: number | null;
  updated_at?: string;
  identity?: Identity | null;
  originators: PartnerId[];
  report_count?: number;
  trail?: TrailPoint[];
  marking?: TrackMarking | null;
}

/** `GET /v1/tracks` */
export interface TrackPage {
  tracks: Track[];
  next_cursor: string | null;
}

export interface LineageEntry {
  report_id: string;
  originator: PartnerId;
  source: string;
  observed_at: string;
}

/** `GET /v1/tracks/{id}` */
export interface TrackDetail extends Track {
  lineage: LineageEntry[];
}

export interface Suspension {
  id: number | string;
  originator: PartnerId;
  partners: PartnerId[] | null;
  purposes: Purpose[] | null;
  reason: string;
  at: string;
}

/** `GET /v1/policy` */
export interface Policy {
  version: number;
  standing: { id: string; text: string }[];
  suspensions: Suspension[];
}

/** `POST /v1/suspensions` body. `null` means every partner / every purpose. */
export interface SuspensionRequest {
  partners: PartnerId[] | null;
  purposes: Purpose[] | null;
  reason: string;
}

/** `GET /v1/usage`: rendered generically, its shape is the server's to evolve. */
export type Usage = unknown;

/**
 * One line of a usage summary: the decisions on an originator's data for one partner, purpose and
 * case. `purpose` and `case` are omitted (or `null`) when the entries carried none.
 */
export interface UsageLine {
  partner: PartnerId;
  purpose?: Purpose | null;
  case?: string | null;
  /** Requests the policy permitted. */
  permits: number;
  /** Requests the policy denied. */
  denies: number;
  reports_permitted: number;
  reports_denied: number;
  /** Case steps that cited the originator's reports. */
  case_steps: number;
}

/** A case step's action as recorded (`kind` tagged), e.g. `{kind: "seize", substance, ...}`. */
export type StepAction =
  | { kind: "detect" | "monitor" | "intercept" | "search" }
  | { kind: "board"; legal_basis: Record<string, unknown> }
  | { kind: "seize"; substance: string; quantity_kg: number; packages: number }
  | { kind: "detain"; persons: number; nationalities: string[]; rights_told_at: string }
  | { kind: "hand-over"; jurisdiction: string; handed_at: string }
  | { kind: "release"; reason: string }
  | { kind: "close"; outcome: string };

export type OutcomeStep = "seize" | "detain" | "hand-over" | "release" | "close";

/** An outcome of a case the originator's data supported. */
export interface CaseOutcome {
  step: OutcomeStep;
  at: string;
  detail: StepAction | Record<string, unknown>;
}

export interface TransparencyCase {
  case: string;
  lead: PartnerId;
  status: "open" | "closed";
  /** Every step's name, in order: `detect`, `monitor`, ... */
  steps: string[];
  outcomes: CaseOutcome[];
}

/** One audit entry of a proof bundle with its inclusion path against the bundle's checkpoint. */
export interface BundleEntry {
  index: number;
  /** The entry's canonical bytes, base64. */
  data: string;
  path: string[];
}

/** What `caveat audit verify` reads: entries proved against a signed checkpoint. */
export interface AuditBundle {
  /** The signed note text of the checkpoint. */
  checkpoint: string;
  /** A consistency proof from a saved checkpoint, when `saved_size` was given. */
  consistency?: unknown;
  entries: BundleEntry[];
  [key: string]: unknown;
}

/** `GET /v1/transparency`: an originator's transparency report (issue 9, part 5). */
export interface Transparency {
  originator: PartnerId;
  accesses: UsageLine[];
  denied: UsageLine[];
  cases: TransparencyCase[];
  proof: AuditBundle;
}

/** The body of every error response. */
export interface ErrorBody {
  error: { code: string; message: string };
}
