//! NDJSON batches: one report per line, all accepted or none.

use std::collections::HashMap;

use crate::{Error, IngestContext, Report, ReportDraft, ReportId};

/// Longest line accepted in an NDJSON batch, bytes. A report is well under 2 KB;
/// the limit stops one runaway line from taking the hub's memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Parses and validates one NDJSON line.
///
/// # Errors
/// Not UTF-8, too long, malformed or truncated JSON, an unknown field, or a
/// field failing validation; the error names the field path and the value.
pub fn parse_line(line: &[u8], ctx: &mut IngestContext<'_>) -> Result<Report, Error> {
    parse_draft(line)?.validate(ctx)
}

fn parse_draft(line: &[u8]) -> Result<ReportDraft, Error> {
    if line.len() > MAX_LINE_BYTES {
        return Err(Error::LineTooLong { len: line.len(), limit: MAX_LINE_BYTES });
    }
    let text = std::str::from_utf8(line).map_err(|e| Error::NotUtf8 { column: e.valid_up_to() + 1 })?;
    let mut de = serde_json::Deserializer::from_str(text);
    let draft: ReportDraft = serde_path_to_error::deserialize(&mut de).map_err(json_error)?;
    de.end().map_err(|e| Error::Json { path: String::new(), message: json_message(&e) })?;
    Ok(draft)
}

fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let mut path = e.path().to_string();
    // serde_path_to_error writes "." for the top level and "?" where it lost track.
    if path == "." || path == "?" {
        path.clear();
    }
    let inner = e.into_inner();
    Error::Json { path, message: json_message(&inner) }
}

/// serde_json's message without its "at line 1 column N" (every line is line 1 to it).
fn json_message(e: &serde_json::Error) -> String {
    if e.is_eof() {
        return format!("truncated JSON (input ends at column {})", e.column());
    }
    let text = e.to_string();
    let base = text.rsplit_once(" at line ").map_or(text.as_str(), |(head, _)| head);
    format!("{base} (column {})", e.column())
}

/// Parses a whole NDJSON batch; blank lines are skipped. All or nothing: the
/// first bad line fails the batch.
///
/// # Errors
/// [`Error::AtLine`] with the first bad line's number; [`Error::EmptyBatch`];
/// [`Error::BatchTooLarge`] past `max_reports`; [`Error::DuplicateInBatch`].
pub fn parse_batch(bytes: &[u8], max_reports: usize, ctx: &mut IngestContext<'_>) -> Result<Vec<Report>, Error> {
    let mut reports = Vec::new();
    let mut seen: HashMap<ReportId, u64> = HashMap::new();
    for (line_no, line) in (1u64..).zip(bytes.split(|b| *b == b'\n')) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if reports.len() == max_reports {
            return Err(Error::BatchTooLarge { limit: max_reports });
        }
        let at_line = |e| Error::AtLine { line: line_no, source: Box::new(e) };
        let draft = parse_draft(line).map_err(at_line)?;
        let supplied = draft.id;
        let report = draft.validate(ctx).map_err(at_line)?;
        if let Some(first_line) = seen.insert(report.id, line_no) {
            // Named as the partner wrote it (the stored id is scoped to it).
            let id = supplied.unwrap_or(report.id).to_string();
            return Err(at_line(Error::DuplicateInBatch { id, first_line }));
        }
        reports.push(report);
    }
    if reports.is_empty() {
        return Err(Error::EmptyBatch);
    }
    Ok(reports)
}

/// The first report of a batch whose marking releases it to a partner not in
/// `known`, with that partner: a typo in `releasable_to` would otherwise share
/// with no one while looking as if it did.
pub fn first_unknown_release<'a>(
    reports: &'a [Report],
    known: &std::collections::BTreeSet<crate::PartnerId>,
) -> Option<(usize, &'a crate::PartnerId)> {
    reports
        .iter()
        .enumerate()
        .find_map(|(i, r)| r.marking.releasable_to.iter().find(|p| !known.contains(p)).map(|p| (i, p)))
}
