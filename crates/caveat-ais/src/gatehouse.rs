//! Gatehouse `$PGHP,1,...` timestamp sentences, as written by the Danish
//! Maritime Authority's shore network in front of each AIS sentence:
//!
//! `$PGHP,1,<year>,<month>,<day>,<hour>,<minute>,<second>,<ms>,<country>,<region>,<pss>,<online>,<cs>*hh`
//!
//! `<cs>` is the checksum of the AIS sentence the time belongs to (00 when not
//! given; the last fragment's for a multipart message), so a time is attached
//! only to the next AIS sentence, and only when that checksum does not contradict it.

/// A parsed `$PGHP` type 1 sentence: UNIX seconds and the checksum of the sentence it stamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GatehouseTime {
    pub(crate) unix_time: i64,
    pub(crate) for_checksum: u8,
}

fn number(field: &[u8]) -> Option<u16> {
    if field.is_empty() || field.len() > 4 || !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(field.iter().fold(0u16, |a, &d| a * 10 + u16::from(d - b'0')))
}

fn hex_byte(field: &[u8]) -> Option<u8> {
    let s = std::str::from_utf8(field).ok()?;
    (s.len() == 2).then(|| u8::from_str_radix(s, 16).ok()).flatten()
}

/// Parses a `$PGHP,1,` line (a tag block before it is ignored); `None` when
/// the line is not one, its checksum fails, or its date is impossible.
pub(crate) fn parse(line: &[u8]) -> Option<GatehouseTime> {
    // Cheap test first: this runs on every line that is not AIS.
    let start = match line.first()? {
        b'$' => 0,
        b'\\' => line.iter().rposition(|&b| b == b'\\')? + 1,
        _ => return None,
    };
    if !line.get(start..)?.starts_with(b"$PGHP,1,") {
        return None;
    }
    let rest = line.get(start + 1..)?;
    let star = rest.iter().position(|&b| b == b'*')?;
    let body = rest.get(..star)?;
    let want = hex_byte(rest.get(star + 1..star + 3)?)?;
    if body.iter().fold(0u8, |a, &b| a ^ b) != want {
        return None;
    }
    let mut fields: [&[u8]; 14] = [&[]; 14];
    let mut count = 0;
    for (i, field) in body.split(|&b| b == b',').enumerate() {
        *fields.get_mut(i)? = field;
        count = i + 1;
    }
    if count != 14 {
        return None;
    }
    let [_, _, year, month, day, hour, minute, second, _ms, _, _, _, _, cs] = fields;
    let (yy, mm, dd) = (i64::from(number(year)?), number(month)?, number(day)?);
    let (hh, min, sec) = (number(hour)?, number(minute)?, number(second)?);
    if !(1..=12).contains(&mm) || dd == 0 || dd > days_in_month(yy, mm) || hh > 23 || min > 59 || sec > 59 {
        return None;
    }
    let unix_time = days_from_civil(yy, i64::from(mm), i64::from(dd)) * 86_400
        + i64::from(hh) * 3_600
        + i64::from(min) * 60
        + i64::from(sec);
    Some(GatehouseTime { unix_time, for_checksum: hex_byte(cs)? })
}

fn days_in_month(y: i64, m: u16) -> u16 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`); integer arithmetic because this runs once per
/// sentence on DMA feeds, where the `time` crate's conversion showed in the bench.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_dma_form() {
        let t = parse(b"$PGHP,1,2013,11,12,12,0,0,11,219,,2190067,1,62*26").unwrap();
        assert_eq!(t, GatehouseTime { unix_time: 1_384_257_600, for_checksum: 0x62 });
        assert_eq!(parse(b"$PGHP,1,2013,11,12,12,0,0,11,219,,2190067,1,62*27"), None);
        assert_eq!(parse(b"$PGHP,1,2013,13,12,12,0,0,11,219,,2190067,1,62*25"), None);
        let tagged = br"\si:AISD*3F\$PGHP,1,2013,11,12,12,0,0,11,219,,2190067,1,62*26";
        assert_eq!(parse(tagged).map(|t| t.unix_time), Some(1_384_257_600));
        // Checked against the time crate over leap and century years.
        for (y, m, d) in [(2000, 2, 29), (1900, 3, 1), (2024, 12, 31), (1970, 1, 1), (2100, 2, 28)] {
            let date = time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap();
            let want = date.midnight().assume_utc().unix_timestamp() / 86_400;
            assert_eq!(days_from_civil(i64::from(y), i64::from(m), i64::from(d)), want);
        }
    }
}
