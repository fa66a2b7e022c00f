// Wire types of the Caveat HTTP API v1, named as the web app uses them. Every one is generated from
// the server's OpenAPI document (schema.gen.ts, from docs/openapi.json, itself generated from the
// Rust code): nothing here states a field, so a change of the server's shape fails `tsc` wherever
// the app depends on it. `npm run check:api` fails when schema.gen.ts is stale.
import type { components } from "./schema.gen";

type Schemas = components["schemas"];

/** A partner id such as `GBR`, `CAN`, `USA-USCG`. */
export type PartnerId = Schemas["PartnerId"];
/** A declared purpose. The server lists the deployment's purposes in `/v1/me`. */
export type Purpose = Schemas["Purpose"];
export type Role = Schemas["Role"];

/** `GET /v1/me` */
export type Me = Schemas["Me"];
export type FederationStatus = Schemas["FederationStatus"];
/** One row of `GET /v1/demo/users` (demo mode only). */
export type DemoUser = Schemas["DemoUser"];

/** A fused track of the caller's view. */
export type Track = Schemas["Track"];
export type TrailPoint = Schemas["TrailPoint"];
export type Identity = Schemas["Identity"];
/** The combined marking of a track's reports. */
export type TrackMarking = Schemas["Marking"];
/** `GET /v1/tracks` */
export type TrackPage = Schemas["TrackPage"];
/** `GET /v1/tracks/{id}` */
export type TrackDetail = Schemas["TrackDetail"];
export type LineageEntry = Schemas["LineageEntry"];

/** An originator's suspension, as `/v1/policy` lists it. */
export type Suspension = Schemas["Suspension"];
/** `POST /v1/suspensions`: the suspension and the policy version it produced. */
export type SuspensionIssued = Schemas["SuspensionIssued"];
/** `DELETE /v1/suspensions/{id}` */
export type Resumption = Schemas["Resumption"];
/** `GET /v1/policy` */
export type Policy = Schemas["Policy"];
/** `POST /v1/suspensions` body. `null` (or absent) means every partner / every purpose. */
export type SuspensionRequest = Schemas["NewSuspension"];

/** `GET /v1/usage`: rendered generically. */
export type Usage = Schemas["UsageReport"];
/** One line of a usage summary: the decisions on an originator's data for one partner, purpose and case. */
export type UsageLine = Schemas["UsageLine"];
/** A case step's action as recorded (`kind` tagged). */
export type StepAction = Schemas["StepAction"];
/** An outcome of a case the originator's data supported. */
export type CaseOutcome = Schemas["CaseOutcome"];
export type TransparencyCase = Schemas["TransparencyCase"];
/** What `caveat audit verify` reads: entries proved against a signed checkpoint. */
export type AuditBundle = Schemas["AuditBundle"];
/** `GET /v1/transparency`: an originator's transparency report. */
export type Transparency = Schemas["TransparencyReport"];

/** The body of every error response. */
export type ErrorBody = Schemas["ErrorBody"];
/** The stable code of an error. */
export type ErrorCode = Schemas["ErrorCode"];
/** The data of a `view` event of `/v1/live`. */
export type ViewEvent = Schemas["ViewEvent"];

/** `GET /v1/cases`: the cases the caller's partner takes part in. */
export type CaseList = Schemas["CaseList"];
export type CaseSummary = Schemas["CaseSummary"];
/** `GET /v1/cases/{id}`: a case with its steps and what each cited report may still show. */
export type CaseDetail = Schemas["CaseDetail"];
export type CaseStep = Schemas["CaseStep"];
/** A cited report as the caller may see it now: available, or withheld by its originator. */
export type Citation = Schemas["Citation"];
/** `POST /v1/cases` body. */
export type NewCase = Schemas["NewCase"];
/** `POST /v1/cases/{id}/steps` body. */
export type NewStep = Schemas["NewStep"];
export type CaseOpened = Schemas["CaseOpened"];
export type StepAdded = Schemas["StepAdded"];
export type LegalBasis = Schemas["LegalBasis"];
export type SourceKind = Schemas["SourceKind"];
export type VesselType = Schemas["VesselType"];

/** `POST /v1/reports`: a stored batch. */
export type BatchReceipt = Schemas["BatchReceipt"];
/** `Caveat-Withheld` of `GET /v1/export`: the reports of the view the export left out, by originator. */
export type Withheld = Schemas["Withheld"];
/** An export format (`GET /v1/export?format=`). */
export type ExportFormat = Schemas["Format"];

/** A behaviour event of the view (AIS gap, encounter, ...: docs/events.md). */
export type BehaviourEvent = Schemas["Event"];
/** `GET /v1/events` */
export type EventList = Schemas["EventList"];
/** An event kind by its published name (`ais-gap`, `speed-in-area`, ...). */
export type EventKind = Schemas["EventKindName"];
/** An alert: one watch rule matched by one vessel's events. */
export type Alert = Schemas["Alert"];
/** `GET /v1/alerts` */
export type AlertList = Schemas["AlertList"];
/** A stored watch rule. */
export type WatchRule = Schemas["WatchRule"];
/** `GET /v1/rules` */
export type RuleList = Schemas["RuleList"];
/** `POST /v1/rules` body. */
export type RuleSpec = Schemas["RuleSpec"];
export type RuleArea = Schemas["RuleArea"];
