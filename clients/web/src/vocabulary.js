// Words the dashboard shows for the ledger's enums and times.

import { Action, DataCategory, DecisionBasis, GrantState, Outcome, Purpose } from "./ledger.js";

/** Categories a patient picks from, in the order shown, with their labels. */
export const CATEGORY_CHOICES = [
  [DataCategory.DATA_CATEGORY_LABS, "Lab results"],
  [DataCategory.DATA_CATEGORY_VITALS, "Vital signs"],
  [DataCategory.DATA_CATEGORY_MEDICATIONS, "Medications"],
  [DataCategory.DATA_CATEGORY_ALLERGIES, "Allergies"],
  [DataCategory.DATA_CATEGORY_CONDITIONS, "Conditions"],
  [DataCategory.DATA_CATEGORY_IMMUNIZATIONS, "Immunizations"],
  [DataCategory.DATA_CATEGORY_IMAGING, "Imaging"],
  [DataCategory.DATA_CATEGORY_PROCEDURES, "Procedures"],
  [DataCategory.DATA_CATEGORY_CLINICAL_NOTES, "Clinical notes"],
  [DataCategory.DATA_CATEGORY_DEMOGRAPHICS, "Personal details"],
  [DataCategory.DATA_CATEGORY_MENTAL_HEALTH, "Mental health (sensitive)"],
  [DataCategory.DATA_CATEGORY_SEXUAL_HEALTH, "Sexual health (sensitive)"],
  [DataCategory.DATA_CATEGORY_SUBSTANCE_USE, "Substance use (sensitive)"],
  [DataCategory.DATA_CATEGORY_GENOMICS, "Genomics (sensitive)"],
];

/** Every concrete category: what “all my records” means for the patient's own reads. */
export const ALL_CONCRETE_CATEGORIES = CATEGORY_CHOICES.map(([value]) => value);

const CATEGORY_LABELS = new Map([...CATEGORY_CHOICES, [DataCategory.DATA_CATEGORY_ALL, "All non-sensitive"]]);

/** Actions a patient grants, with what they mean to the grantee. */
export const ACTION_CHOICES = [
  [Action.ACTION_READ, "See records"],
  [Action.ACTION_WRITE, "Add records"],
  [Action.ACTION_AUDIT_READ, "See my activity log"],
];
const ACTION_LABELS = new Map([...ACTION_CHOICES, [Action.ACTION_DELEGATE, "Manage access for me"]]);
const ACTION_SHORT_VERBS = new Map([
  [Action.ACTION_READ, "see"],
  [Action.ACTION_WRITE, "add"],
  [Action.ACTION_AUDIT_READ, "see the activity log of"],
  [Action.ACTION_DELEGATE, "manage access to"],
]);
const ACTION_VERBS = new Map([
  [Action.ACTION_READ, "read"],
  [Action.ACTION_WRITE, "write"],
  [Action.ACTION_AUDIT_READ, "read the activity log of"],
  [Action.ACTION_DELEGATE, "manage access to"],
]);

/** Purposes a patient grants for, in the order shown. */
export const PURPOSE_CHOICES = [
  [Purpose.PURPOSE_TREATMENT, "Treatment"],
  [Purpose.PURPOSE_EMERGENCY, "Emergency care"],
  [Purpose.PURPOSE_PAYMENT, "Billing and insurance"],
  [Purpose.PURPOSE_OPERATIONS, "Healthcare operations"],
  [Purpose.PURPOSE_RESEARCH, "Research"],
  [Purpose.PURPOSE_PATIENT_REQUEST, "At my request"],
];
const PURPOSE_LABELS = new Map(PURPOSE_CHOICES);
const PURPOSE_PHRASES = new Map([
  [Purpose.PURPOSE_TREATMENT, "for treatment"],
  [Purpose.PURPOSE_EMERGENCY, "for emergency care"],
  [Purpose.PURPOSE_PAYMENT, "for billing"],
  [Purpose.PURPOSE_OPERATIONS, "for healthcare operations"],
  [Purpose.PURPOSE_RESEARCH, "for research"],
  [Purpose.PURPOSE_PATIENT_REQUEST, "at your request"],
]);

/** Duration presets of a grant, in milliseconds; "custom" asks for a date. */
export const DURATION_CHOICES = [
  ["1h", "1 hour", 3600000],
  ["1d", "1 day", 86400000],
  ["1w", "1 week", 604800000],
  ["30d", "30 days", 2592000000],
  ["custom", "Until a date", "custom"],
];

const BASIS_LABELS = new Map([
  [DecisionBasis.DECISION_BASIS_PATIENT_SELF, "you are the patient"],
  [DecisionBasis.DECISION_BASIS_PERMIT_GRANT, "your grant allowed it"],
  [DecisionBasis.DECISION_BASIS_EMERGENCY_ACCESS, "emergency access"],
  [DecisionBasis.DECISION_BASIS_DENY_GRANT, "you denied it"],
  [DecisionBasis.DECISION_BASIS_NO_PERMIT, "no access given"],
]);

const GRANT_STATE_LABELS = new Map([
  [GrantState.GRANT_STATE_PENDING, "Starts later"],
  [GrantState.GRANT_STATE_ACTIVE, "Active"],
  [GrantState.GRANT_STATE_EXPIRED, "Expired"],
  [GrantState.GRANT_STATE_REVOKED, "Revoked"],
]);

/** Label of a data category. */
export const categoryLabel = (value) => CATEGORY_LABELS.get(value) ?? `Category ${value}`;
/** Label of a granted action. */
export const actionLabel = (value) => ACTION_LABELS.get(value) ?? `Action ${value}`;
/** Verbs of granted actions as one phrase (“see or add”). */
export const grantedVerbs = (actions) => actions.map((a) => ACTION_SHORT_VERBS.get(a) ?? "use").join(" or ");
/** Verb of an action in an activity line (“read”, “write”). */
export const actionVerb = (value) => ACTION_VERBS.get(value) ?? "use";
/** Label of a purpose of use. */
export const purposeLabel = (value) => PURPOSE_LABELS.get(value) ?? `Purpose ${value}`;
/** How a purpose reads after a verb in an activity line (“for treatment”). */
export const purposePhrase = (value) => PURPOSE_PHRASES.get(value) ?? "";
/** Categories as one phrase; every concrete category reads as “all kinds of records”. */
export function categoriesPhrase(categories) {
  if (ALL_CONCRETE_CATEGORIES.every((category) => categories.includes(category))) return "all kinds of records";
  return categories.map(categoryLabel).join(", ");
}
/** Label of what a decision rested on. */
export const basisLabel = (value) => BASIS_LABELS.get(value) ?? "";
/** Label of a grant's state. */
export const grantStateLabel = (value) => GRANT_STATE_LABELS.get(value) ?? "";
/** A node's reason text with its enum names (DATA_CATEGORY_LABS, PURPOSE_TREATMENT) in the page's words. */
export function readableReason(text) {
  return text
    .replace(/\bDATA_CATEGORY_[A-Z_]+\b/g, (name) => (name in DataCategory ? categoryLabel(DataCategory[name]) : name))
    .replace(/\bPURPOSE_[A-Z_]+\b/g, (name) => (name in Purpose ? purposeLabel(Purpose[name]) : name));
}
/** Whether an audit event was allowed. */
export const isAllowed = (event) => event.outcome === Outcome.OUTCOME_ALLOWED;

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateTimeSeconds = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** A time in milliseconds since the epoch (number or BigInt) in the reader's time zone. */
export function formatTime(unixMs, { seconds = false } = {}) {
  return (seconds ? dateTimeSeconds : dateTime).format(new Date(Number(unixMs)));
}

/** The machine-readable form of a time, for <time datetime>. */
export function isoTime(unixMs) {
  return new Date(Number(unixMs)).toISOString();
}

/** The dates of records a grant covers (a RecordDateRange: inclusive from, exclusive until; absent: any date). */
export function recordDatesPhrase(range) {
  const from = range?.fromUnixMs;
  const until = range?.untilUnixMs;
  if (from === undefined && until === undefined) return "Any date";
  if (until === undefined) return `From ${formatTime(from)}`;
  if (from === undefined) return `Before ${formatTime(until)}`;
  return `From ${formatTime(from)}, before ${formatTime(until)}`;
}

/** A byte count as people read it. */
export function formatBytes(count) {
  const bytes = Number(count);
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1048576) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}
