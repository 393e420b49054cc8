// What an API error says, as sentences: a problem+json body (RFC 9457) and its field errors
// by the forms' own names, never an internal name or a validator's phrasing.

// Field names as the forms call them: an error never shows an internal name.
const FIELD_LABELS = {
  title: "Title", description: "Description", location: "Location", start_time: "Start", end_time: "End",
  start_date: "Start date", end_date: "End date", all_day: "All day", timezone: "Time zone",
  recurrence_pattern: "Repeat rule", is_recurring: "Repeats", exdates: "Cancelled occurrences",
  rdates: "Extra occurrences", username: "Username", email: "Email", password: "Password",
  minutes_before: "Reminder", reminders: "Reminders", url: "URL", events: "Event types", name: "Name",
  role: "Role", user_id: "Person", recurrence_id: "Occurrence", startTime: "Start", endTime: "End",
  users: "People", user_ids: "People", duration_minutes: "Length", working_hours: "Working hours",
  granularity_minutes: "Step", response: "Answer", comment: "Comment",
};

/** `["body", "end_time"]` → "End"; list positions and transport parts are left out. */
export function fieldName(loc) {
  const parts = (loc || []).filter((p) => typeof p === "string" && !["body", "query", "path", "header"].includes(p));
  const last = parts[parts.length - 1];
  if (!last) return "";
  return FIELD_LABELS[last] || last.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());
}

/** A validator's message as a sentence: no "Value error, ", no snake_case names. */
function readableMessage(msg) {
  let text = String(msg || "").replace(/^(Value|Assertion) error,\s*/i, "");
  text = text.replace(/\b[a-z]+(?:_[a-z]+)+\b/g, (name) => (FIELD_LABELS[name] || name.replaceAll("_", " ")).toLowerCase());
  text = text.replace(/^(?:String|List) should have at least 1 (?:character|item)\b.*$/, "must not be empty");
  text = text.replace(/^String should have at most (\d+) characters?$/, "must be at most $1 characters long");
  text = text.replace(/^String should have at least (\d+) characters?$/, "must be at least $1 characters long");
  text = text.replace(/^(?:Input|Value|String|List) should /, "must ");
  text = text.replace(/^Field required$/, "is required");
  return text;
}

// How a message that says something of its field begins ("must be…", "is required"): it
// follows the field's name. Any other message ("the URL points at…", "at most 5 reminders
// per event", "no such user") is a sentence of its own, and names what it is about itself.
const PREDICATE = /^(?:must|is|are|was|should|cannot|can|may|has|have|needs?|appears|contains|does)\b/;

/** One field error as a sentence: "Name must not be empty", "The URL points at…". */
function fieldError(loc, msg) {
  const name = fieldName(loc);
  const text = readableMessage(msg).replace(/\.$/, "");
  return name && PREDICATE.test(text) ? `${name} ${text}` : text.replace(/^./, (c) => c.toUpperCase());
}

/** A sentence from a problem+json body (RFC 9457), never the raw JSON. */
export function describeProblem(problem, status, retryAfter) {
  if (status === 429) {
    const when = retryAfter == null ? "in a moment" : `in ${retryAfter} second${retryAfter === 1 ? "" : "s"}`;
    return `Too many requests. Please try again ${when}.`;
  }
  if (!problem || typeof problem !== "object") {
    return status >= 500 ? "The server had a problem. Please try again." : `The request failed (HTTP ${status}).`;
  }
  if (Array.isArray(problem.errors) && problem.errors.length) {
    const lines = problem.errors.slice(0, 5).map((e) => fieldError(e.loc, e.msg));
    return `${problem.title || "The request is not valid"}. ${lines.join("; ")}.`;
  }
  const title = problem.title || `HTTP ${status}`;
  const detail = problem.detail && problem.detail !== title ? ` ${readableMessage(problem.detail)}` : "";
  return `${title}.${detail}`.replace(/\.\./g, ".");
}
