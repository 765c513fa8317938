//! Exports of the leads table and the funnel to CSV and XLSX: pure functions
//! from the views to bytes, and [`write_export`], which puts the bytes into
//! a folder under a fresh name, atomically.
//!
//! * Column headers are in the UI's language ([`Language`]).
//! * **CSV** is UTF-8 with a byte-order mark (so Excel reads Cyrillic
//!   right), separated by `;` in Russian (what Excel expects where the
//!   decimal separator is a comma) and `,` in English; percentages and
//!   fractions use the language's decimal separator (`42,5%` / `42.5%`).
//!   A text cell that a spreadsheet would run as a formula (starting with
//!   `=`, `@`, a tab or CR, or `+`/`-` followed by more than digits and
//!   phone punctuation) gets a leading `'` (OWASP's advice against CSV
//!   injection); phone numbers such as `+7 (999) 123-45-67` stay as they are.
//! * **XLSX** holds the same cells, typed: numbers, money (`#,##0`),
//!   percentages (`0.0%`) and dates as Excel date-times (`yyyy-mm-dd hh:mm`);
//!   text is always text there (never a formula).
//! * Dates are in the account's time zone ([`AccountZone`]; this computer's
//!   when the account's is unknown), as ISO `YYYY-MM-DD HH:MM`.

use std::io::Write;
use std::path::{Path, PathBuf};

use amosync_store::{Funnel, StatusKind};
use chrono::{Datelike, Local, NaiveDateTime, Timelike};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

use super::views::{ExportFormat, ExportKind, ExportResult, Language, LeadRow};
use super::zone::AccountZone;
use crate::{AppError, ErrorCode};

/// Rows an XLSX sheet holds (Excel's limit), the header included.
const XLSX_MAX_ROWS: usize = 1_048_576;
/// Characters an XLSX cell holds (Excel's limit).
const XLSX_MAX_CHARS: usize = 32_767;

/// The leads table as CSV (see the module docs for the dialect), dates in `zone`.
pub fn leads_csv(rows: &[LeadRow], lang: Language, zone: &AccountZone) -> Vec<u8> {
    to_csv(&leads_table(rows, lang, zone), lang)
}

/// The leads table as an XLSX workbook of one sheet, dates in `zone`.
pub fn leads_xlsx(
    rows: &[LeadRow],
    lang: Language,
    zone: &AccountZone,
) -> Result<Vec<u8>, AppError> {
    let sheet = match lang {
        Language::Ru => "Сделки",
        Language::En => "Leads",
    };
    to_xlsx(&leads_table(rows, lang, zone), sheet)
}

/// A pipeline's funnel as CSV: one row per status (count, money in
/// `currency`, reached, conversion to the next status and to won, median
/// days in the status), then the totals and the win rate.
pub fn funnel_csv(funnel: &Funnel, currency: &str, lang: Language) -> Vec<u8> {
    to_csv(&funnel_table(funnel, currency, lang), lang)
}

/// The funnel as an XLSX workbook; the sheet is named after the pipeline.
pub fn funnel_xlsx(funnel: &Funnel, currency: &str, lang: Language) -> Result<Vec<u8>, AppError> {
    let fallback = match lang {
        Language::Ru => "Воронка",
        Language::En => "Funnel",
    };
    to_xlsx(
        &funnel_table(funnel, currency, lang),
        &sheet_name(&funnel.pipeline_name, fallback),
    )
}

/// Writes `bytes` into `dir` (created when missing) as
/// `amosync-{leads|funnel}-YYYY-MM-DD-HHMM.{csv|xlsx}` in local time — with
/// `-2`, `-3`, … before the extension when that name is taken (an existing
/// file is never replaced). The file appears whole or not at all: it is
/// written to a temporary file in `dir`, flushed to disk, then linked (or
/// renamed) into place. `rows` is reported back as is.
pub fn write_export(
    dir: &Path,
    kind: ExportKind,
    format: ExportFormat,
    bytes: &[u8],
    rows: u64,
) -> Result<ExportResult, AppError> {
    write_export_at(dir, kind, format, bytes, rows, Local::now().naive_local())
}

/// [`write_export`] with the clock given.
pub fn write_export_at(
    dir: &Path,
    kind: ExportKind,
    format: ExportFormat,
    bytes: &[u8],
    rows: u64,
    at: NaiveDateTime,
) -> Result<ExportResult, AppError> {
    const ADVICE: &str = "check that the disk has free space and the folder is writable, or export to another folder";
    std::fs::create_dir_all(dir).map_err(|e| {
        AppError::new(
            ErrorCode::Local,
            format!(
                "cannot create the export folder {}: {e}; {ADVICE}",
                dir.display()
            ),
        )
    })?;
    let tmp = dir.join(format!(
        ".amosync-export-{}-{}.tmp",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let write_err = |e: std::io::Error| {
        AppError::new(
            ErrorCode::Local,
            format!(
                "cannot write the export into {}: {e}; {ADVICE}",
                dir.display()
            ),
        )
    };
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_err(e));
    }
    let placed = place(&tmp, dir, kind, format, at);
    let _ = std::fs::remove_file(&tmp);
    let path = placed.map_err(write_err)?;
    Ok(ExportResult {
        path: path.display().to_string(),
        rows,
    })
}

/// The file name of the `n`th export of `kind` made at `at` (n ≥ 1).
pub fn export_file_name(
    kind: ExportKind,
    format: ExportFormat,
    at: NaiveDateTime,
    n: u32,
) -> String {
    let kind = match kind {
        ExportKind::Leads => "leads",
        ExportKind::Funnel => "funnel",
    };
    let ext = match format {
        ExportFormat::Csv => "csv",
        ExportFormat::Xlsx => "xlsx",
    };
    let stamp = at.format("%Y-%m-%d-%H%M");
    match n {
        0 | 1 => format!("amosync-{kind}-{stamp}.{ext}"),
        n => format!("amosync-{kind}-{stamp}-{n}.{ext}"),
    }
}

/// Gives `tmp` the first free export name in `dir` without replacing any
/// file: a hard link fails when the name exists; where links are not
/// supported (FAT, some network shares) a rename after a check is used.
fn place(
    tmp: &Path,
    dir: &Path,
    kind: ExportKind,
    format: ExportFormat,
    at: NaiveDateTime,
) -> std::io::Result<PathBuf> {
    for n in 1..=10_000 {
        let path = dir.join(export_file_name(kind, format, at, n));
        match std::fs::hard_link(tmp, &path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(_) => {
                if path.exists() {
                    continue;
                }
                std::fs::rename(tmp, &path)?;
                return Ok(path);
            }
        }
    }
    Err(std::io::Error::other(
        "10 000 exports of this minute exist already; remove some",
    ))
}

// ---- one table, two formats ----

/// A cell, typed for XLSX and rendered as text for CSV.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Empty,
    Text(String),
    /// A plain integer (ids, counts).
    Int(i64),
    /// An amount of money.
    Money(i64),
    /// A wall-clock date and time in the export's zone (`None` when out of range).
    Time(Option<NaiveDateTime>),
    /// A fraction shown as a percentage.
    Percent(f64),
    /// A number with one decimal.
    Decimal(f64),
}

struct Table {
    header: Vec<String>,
    rows: Vec<Vec<Cell>>,
    /// Column widths for XLSX, in characters.
    widths: Vec<f64>,
    /// Whether XLSX gets filter buttons on the header (a plain list; not
    /// the funnel, whose summary rows must stay below the statuses).
    filter: bool,
}

fn tr(lang: Language, ru: &str, en: &str) -> String {
    match lang {
        Language::Ru => ru.into(),
        Language::En => en.into(),
    }
}

fn text(s: &str) -> Cell {
    if s.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(s.into())
    }
}

fn opt_text(s: &Option<String>) -> Cell {
    s.as_deref().map_or(Cell::Empty, text)
}

fn time(zone: &AccountZone, ts: Option<i64>) -> Cell {
    match ts {
        Some(t) if t > 0 => Cell::Time(zone.naive(t)),
        _ => Cell::Empty,
    }
}

fn leads_table(rows: &[LeadRow], lang: Language, tz: &AccountZone) -> Table {
    let cols: [(&str, &str, f64); 13] = [
        ("ID", "ID", 10.0),
        ("Сделка", "Lead", 36.0),
        ("Бюджет", "Price", 12.0),
        ("Этап", "Status", 24.0),
        ("Ответственный", "Responsible", 20.0),
        ("Контакт", "Contact", 24.0),
        ("Телефон", "Phone", 18.0),
        ("Email", "Email", 24.0),
        ("Теги", "Tags", 20.0),
        ("Создана", "Created", 17.0),
        ("Изменена", "Updated", 17.0),
        ("Закрыта", "Closed", 17.0),
        ("Удалена", "Deleted", 9.0),
    ];
    let yes = tr(lang, "да", "yes");
    Table {
        header: cols.iter().map(|(ru, en, _)| tr(lang, ru, en)).collect(),
        widths: cols.iter().map(|c| c.2).collect(),
        filter: true,
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Cell::Int(i64::try_from(r.id).unwrap_or(i64::MAX)),
                    text(&r.name),
                    Cell::Money(r.price),
                    text(&r.status_name),
                    opt_text(&r.responsible_name),
                    opt_text(&r.contact_name),
                    opt_text(&r.phone),
                    opt_text(&r.email),
                    text(&r.tags.join(", ")),
                    time(tz, Some(r.created_at)),
                    time(tz, Some(r.updated_at)),
                    time(tz, r.closed_at),
                    if r.deleted {
                        Cell::Text(yes.clone())
                    } else {
                        Cell::Empty
                    },
                ]
            })
            .collect(),
    }
}

fn funnel_table(f: &Funnel, currency: &str, lang: Language) -> Table {
    let cols: [(String, f64); 7] = [
        (tr(lang, "Этап", "Status"), 32.0),
        (tr(lang, "Сделок", "Leads"), 10.0),
        (
            match lang {
                Language::Ru => format!("Сумма, {currency}"),
                Language::En => format!("Amount, {currency}"),
            },
            16.0,
        ),
        (tr(lang, "Дошли до этапа", "Reached"), 14.0),
        (
            tr(lang, "Конверсия в следующий", "Conversion to next"),
            14.0,
        ),
        (tr(lang, "Конверсия в успех", "Conversion to won"), 14.0),
        (
            tr(lang, "Медиана в этапе, дней", "Median time in status, days"),
            16.0,
        ),
    ];
    let count = |n: u64| Cell::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let pct = |p: Option<f64>| p.map_or(Cell::Empty, Cell::Percent);
    let mut rows: Vec<Vec<Cell>> = f
        .statuses
        .iter()
        .map(|s| {
            vec![
                text(&s.name),
                count(s.count),
                Cell::Money(s.price_sum),
                if s.kind == StatusKind::Open {
                    count(s.reached)
                } else {
                    Cell::Empty
                },
                pct(s.conversion_to_next),
                pct(s.conversion_to_won),
                s.median_seconds_in_status
                    .map_or(Cell::Empty, |sec| Cell::Decimal(sec as f64 / 86_400.0)),
            ]
        })
        .collect();
    let blank = || vec![Cell::Empty; 7];
    rows.push(blank());
    let mut total = blank();
    total[0] = Cell::Text(tr(lang, "Итого", "Total"));
    total[1] = count(f.total_count);
    total[2] = Cell::Money(f.total_price);
    rows.push(total);
    let mut open = blank();
    open[0] = Cell::Text(tr(lang, "В работе", "Open"));
    open[1] = count(f.open_count);
    open[2] = Cell::Money(
        f.total_price
            .saturating_sub(f.won_price)
            .saturating_sub(f.lost_price),
    );
    rows.push(open);
    let mut rate = blank();
    rate[0] = Cell::Text(tr(
        lang,
        "Доля успешных среди закрытых",
        "Win rate (won / closed)",
    ));
    rate[5] = pct(f.win_rate);
    rows.push(rate);
    Table {
        header: cols.iter().map(|c| c.0.clone()).collect(),
        widths: cols.iter().map(|c| c.1).collect(),
        filter: false,
        rows,
    }
}

fn decimal(lang: Language, v: f64) -> String {
    let s = format!("{v:.1}");
    match lang {
        Language::Ru => s.replace('.', ","),
        Language::En => s,
    }
}

/// Whether a spreadsheet would read `s` as a formula worth defusing.
fn formula_like(s: &str) -> bool {
    match s.chars().next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => !s
            .chars()
            .all(|c| c.is_ascii_digit() || " ()-+.,".contains(c)),
        _ => false,
    }
}

fn csv_text(cell: &Cell, lang: Language) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(s) if formula_like(s) => format!("'{s}"),
        Cell::Text(s) => s.clone(),
        Cell::Int(n) | Cell::Money(n) => n.to_string(),
        Cell::Time(t) => t.map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M").to_string()),
        Cell::Percent(p) => format!("{}%", decimal(lang, p * 100.0)),
        Cell::Decimal(v) => decimal(lang, *v),
    }
}

fn to_csv(table: &Table, lang: Language) -> Vec<u8> {
    let delimiter = match lang {
        Language::Ru => b';',
        Language::En => b',',
    };
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        // Writing to a Vec cannot fail; a record error would be a bug here.
        let _ = w.write_record(&table.header);
        for row in &table.rows {
            let _ = w.write_record(row.iter().map(|c| csv_text(c, lang)));
        }
        let _ = w.flush();
    }
    out
}

fn xlsx_error(e: XlsxError) -> AppError {
    AppError::new(
        ErrorCode::Local,
        format!("cannot build the XLSX file ({e}); export as CSV instead"),
    )
}

fn excel_time(t: NaiveDateTime) -> Option<ExcelDateTime> {
    let y = u16::try_from(t.year()).ok()?;
    ExcelDateTime::from_ymd(y, t.month() as u8, t.day() as u8)
        .and_then(|d| d.and_hms(t.hour() as u16, t.minute() as u8, t.second()))
        .ok()
}

fn to_xlsx(table: &Table, sheet: &str) -> Result<Vec<u8>, AppError> {
    if table.rows.len() >= XLSX_MAX_ROWS {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            format!(
                "{} rows do not fit in one XLSX sheet (at most {}); narrow the filter or export as CSV",
                table.rows.len(),
                XLSX_MAX_ROWS - 1
            ),
        ));
    }
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0");
    let percent = Format::new().set_num_format("0.0%");
    let decimal = Format::new().set_num_format("0.0");
    let date = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let ws = book.add_worksheet();
    ws.set_name(sheet).map_err(xlsx_error)?;
    for (c, (h, w)) in table.header.iter().zip(&table.widths).enumerate() {
        let c = c as u16;
        ws.write_string_with_format(0, c, h, &bold)
            .map_err(xlsx_error)?;
        ws.set_column_width(c, *w).map_err(xlsx_error)?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        let r = (r + 1) as u32;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            let written = match cell {
                Cell::Empty | Cell::Time(None) => continue,
                Cell::Text(s) => {
                    let s: String = if s.chars().count() > XLSX_MAX_CHARS {
                        s.chars().take(XLSX_MAX_CHARS).collect()
                    } else {
                        s.clone()
                    };
                    ws.write_string(r, c, s)
                }
                Cell::Int(n) => ws.write_number(r, c, *n as f64),
                Cell::Money(n) => ws.write_number_with_format(r, c, *n as f64, &money),
                Cell::Time(Some(t)) => match excel_time(*t) {
                    Some(d) => ws.write_datetime_with_format(r, c, &d, &date),
                    None => ws.write_string(r, c, t.format("%Y-%m-%d %H:%M").to_string()),
                },
                Cell::Percent(p) => ws.write_number_with_format(r, c, *p, &percent),
                Cell::Decimal(v) => ws.write_number_with_format(r, c, *v, &decimal),
            };
            written.map_err(xlsx_error)?;
        }
    }
    let last_col = table.header.len().saturating_sub(1) as u16;
    ws.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    if table.filter {
        ws.autofilter(0, 0, table.rows.len() as u32, last_col)
            .map_err(xlsx_error)?;
    }
    book.save_to_buffer().map_err(xlsx_error)
}

/// A valid sheet name: at most 31 characters, none of `[]:*?/\`, not
/// starting or ending with `'`; `fallback` when nothing is left.
fn sheet_name(name: &str, fallback: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { ' ' } else { c })
        .take(31)
        .collect();
    let cleaned = cleaned.trim().trim_matches('\'').trim().to_string();
    if cleaned.is_empty() || cleaned.eq_ignore_ascii_case("history") {
        fallback.into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amosync_store::FunnelStatus;
    use calamine::{Data, Reader, Xlsx};
    use chrono::NaiveDate;

    fn utc() -> AccountZone {
        AccountZone::of(Some("UTC"))
    }

    fn row(id: u64, name: &str, phone: Option<&str>) -> LeadRow {
        LeadRow {
            id,
            name: name.into(),
            price: 125_000,
            pipeline_id: 8580102,
            status_id: 69641338,
            status_name: "Новый лид".into(),
            status_color: "#99ccff".into(),
            status_kind: StatusKind::Open,
            responsible_user_id: 3,
            responsible_name: Some("Анна Смирнова".into()),
            created_at: 1_763_731_800, // 2025-11-21 13:30 UTC
            updated_at: 1_763_735_400,
            closed_at: None,
            tags: vec!["сайт".into(), "Тбилиси".into()],
            contact_name: Some("Иван Петров".into()),
            phone: phone.map(str::to_owned),
            email: Some("ivan@пример.рф".into()),
            deleted: false,
        }
    }

    fn rows() -> Vec<LeadRow> {
        let mut second = row(2, "=HYPERLINK(\"http://x\")", None);
        second.deleted = true;
        second.closed_at = Some(1_763_740_000);
        second.responsible_name = None;
        vec![
            row(
                1,
                "Аренда Camry, ёлка «Зима»; 3 дня",
                Some("+7 (999) 123-45-67"),
            ),
            second,
        ]
    }

    fn parse(bytes: &[u8], delimiter: u8) -> Vec<Vec<String>> {
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM first");
        let mut r = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .from_reader(&bytes[3..]);
        r.records()
            .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }

    #[test]
    fn leads_csv_parses_back_with_cyrillic_intact() {
        let bytes = to_csv(&leads_table(&rows(), Language::Ru, &utc()), Language::Ru);
        let got = parse(&bytes, b';');
        assert_eq!(got.len(), 3);
        assert_eq!(got[0][..4], ["ID", "Сделка", "Бюджет", "Этап"]);
        assert_eq!(
            got[1],
            [
                "1",
                "Аренда Camry, ёлка «Зима»; 3 дня",
                "125000",
                "Новый лид",
                "Анна Смирнова",
                "Иван Петров",
                "+7 (999) 123-45-67",
                "ivan@пример.рф",
                "сайт, Тбилиси",
                "2025-11-21 13:30",
                "2025-11-21 14:30",
                "",
                ""
            ]
        );
        // A formula is defused; the deleted flag and closing time show.
        assert_eq!(got[2][1], "'=HYPERLINK(\"http://x\")");
        assert_eq!(got[2][4], "");
        assert_eq!(got[2][11], "2025-11-21 15:46");
        assert_eq!(got[2][12], "да");
        // English: commas, English headers.
        let en = to_csv(&leads_table(&rows(), Language::En, &utc()), Language::En);
        let got = parse(&en, b',');
        assert_eq!(got[0][..3], ["ID", "Lead", "Price"]);
        assert_eq!(got[1][1], "Аренда Camry, ёлка «Зима»; 3 дня");
        assert_eq!(got[2][12], "yes");
        // The public function: same shape.
        let public = parse(&leads_csv(&rows(), Language::Ru, &utc()), b';');
        assert_eq!(public.len(), 3);
        assert_eq!(public[1][..9], got_ru_prefix());
    }

    #[test]
    fn lead_dates_are_in_the_account_zone() {
        // 13:30 UTC is 17:30 in Tbilisi (+04:00), whatever this computer's zone.
        let tbilisi = AccountZone::of(Some("Asia/Tbilisi"));
        let got = parse(&leads_csv(&rows(), Language::En, &tbilisi), b',');
        assert_eq!(got[1][9..12], ["2025-11-21 17:30", "2025-11-21 18:30", ""]);
        assert_eq!(got[2][11], "2025-11-21 19:46");
        let (_, range) = read_xlsx(leads_xlsx(&rows(), Language::En, &tbilisi).unwrap());
        let Some(Data::DateTime(created)) = range.get((1, 9)) else {
            panic!("created is a date: {:?}", range.get((1, 9)));
        };
        let expected = ((1_763_731_800.0 + 4.0 * 3600.0) / 86_400.0) + 25_569.0;
        assert!(
            (created.as_f64() - expected).abs() < 1e-6,
            "{}",
            created.as_f64()
        );
    }

    fn got_ru_prefix() -> Vec<String> {
        [
            "1",
            "Аренда Camry, ёлка «Зима»; 3 дня",
            "125000",
            "Новый лид",
            "Анна Смирнова",
            "Иван Петров",
            "+7 (999) 123-45-67",
            "ivan@пример.рф",
            "сайт, Тбилиси",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    #[test]
    fn formula_guard_spares_phones_and_numbers() {
        assert!(formula_like("=1+1"));
        assert!(formula_like("@SUM(A1)"));
        assert!(formula_like("-2+3+cmd|' /C calc'!A0"));
        assert!(formula_like("+HYPERLINK(\"x\")"));
        assert!(!formula_like("+7 (999) 123-45-67"));
        assert!(!formula_like("-15"));
        assert!(!formula_like("Иван"));
    }

    fn read_xlsx(bytes: Vec<u8>) -> (String, calamine::Range<Data>) {
        let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let name = book.sheet_names()[0].clone();
        let range = book.worksheet_range(&name).unwrap();
        (name, range)
    }

    fn cell_text(d: &Data) -> String {
        match d {
            Data::Empty => String::new(),
            Data::String(s) => s.clone(),
            Data::Float(f) => f.to_string(),
            Data::Int(i) => i.to_string(),
            Data::DateTime(t) => format!("serial {}", t.as_f64()),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn leads_xlsx_reads_back_with_the_same_cells() {
        let rows = rows();
        let table = leads_table(&rows, Language::Ru, &utc());
        let (name, range) = read_xlsx(to_xlsx(&table, "Сделки").unwrap());
        assert_eq!(name, "Сделки");
        assert_eq!(range.height(), 3);
        let header: Vec<String> = range.rows().next().unwrap().iter().map(cell_text).collect();
        assert_eq!(header, table.header);
        let first: Vec<&Data> = range.rows().nth(1).unwrap().iter().collect();
        assert_eq!(cell_text(first[0]), "1");
        assert_eq!(cell_text(first[1]), "Аренда Camry, ёлка «Зима»; 3 дня");
        assert_eq!(cell_text(first[2]), "125000");
        assert_eq!(cell_text(first[6]), "+7 (999) 123-45-67");
        assert_eq!(cell_text(first[8]), "сайт, Тбилиси");
        // 2025-11-21 13:30 as an Excel serial date.
        let Data::DateTime(created) = first[9] else {
            panic!("created is a date: {:?}", first[9]);
        };
        let expected = (1_763_731_800.0 / 86_400.0) + 25_569.0;
        assert!((created.as_f64() - expected).abs() < 1e-6);
        // XLSX text is never a formula: kept as written.
        let second: Vec<&Data> = range.rows().nth(2).unwrap().iter().collect();
        assert_eq!(cell_text(second[1]), "=HYPERLINK(\"http://x\")");
        assert_eq!(cell_text(second[12]), "да");
        // The public function works and names the sheet by language.
        let (name, range) = read_xlsx(leads_xlsx(&rows, Language::En, &utc()).unwrap());
        assert_eq!(name, "Leads");
        assert_eq!(range.height(), 3);
    }

    fn funnel() -> Funnel {
        let st =
            |id: u64, name: &str, kind, count, price, reached, next, won, median| FunnelStatus {
                status_id: id,
                name: name.into(),
                color: "#99ccff".into(),
                sort: 0,
                kind,
                count,
                price_sum: price,
                reached,
                conversion_to_next: next,
                conversion_to_won: won,
                median_seconds_in_status: median,
            };
        Funnel {
            pipeline_id: 8580102,
            pipeline_name: "Первичка: аренда/продажа".into(),
            statuses: vec![
                st(
                    1,
                    "Новый лид",
                    StatusKind::Open,
                    6,
                    600_000,
                    20,
                    Some(0.7),
                    Some(0.25),
                    Some(129_600),
                ),
                st(
                    2,
                    "Выдача",
                    StatusKind::Open,
                    4,
                    400_500,
                    14,
                    None,
                    Some(5.0 / 14.0),
                    None,
                ),
                st(
                    142,
                    "Успешно реализовано",
                    StatusKind::Won,
                    5,
                    1_250_000,
                    5,
                    None,
                    None,
                    None,
                ),
                st(
                    143,
                    "Закрыто и не реализовано",
                    StatusKind::Lost,
                    5,
                    90_000,
                    5,
                    None,
                    None,
                    None,
                ),
            ],
            total_count: 20,
            total_price: 2_340_500,
            open_count: 10,
            won_count: 5,
            won_price: 1_250_000,
            lost_count: 5,
            lost_price: 90_000,
            win_rate: Some(0.5),
        }
    }

    #[test]
    fn funnel_csv_has_conversions_and_money() {
        let got = parse(&funnel_csv(&funnel(), "GEL", Language::Ru), b';');
        assert_eq!(
            got[0],
            [
                "Этап",
                "Сделок",
                "Сумма, GEL",
                "Дошли до этапа",
                "Конверсия в следующий",
                "Конверсия в успех",
                "Медиана в этапе, дней"
            ]
        );
        assert_eq!(
            got[1],
            ["Новый лид", "6", "600000", "20", "70,0%", "25,0%", "1,5"]
        );
        assert_eq!(got[2], ["Выдача", "4", "400500", "14", "", "35,7%", ""]);
        assert_eq!(got[3][..4], ["Успешно реализовано", "5", "1250000", ""]);
        assert_eq!(got[5], ["", "", "", "", "", "", ""]);
        assert_eq!(got[6][..3], ["Итого", "20", "2340500"]);
        assert_eq!(got[7][..3], ["В работе", "10", "1000500"]);
        assert_eq!(got[8][0], "Доля успешных среди закрытых");
        assert_eq!(got[8][5], "50,0%");
        let en = parse(&funnel_csv(&funnel(), "GEL", Language::En), b',');
        assert_eq!(en[0][2], "Amount, GEL");
        assert_eq!(en[1][4..7], ["70.0%", "25.0%", "1.5"]);
    }

    #[test]
    fn funnel_xlsx_keeps_numbers_typed() {
        let (name, range) = read_xlsx(funnel_xlsx(&funnel(), "GEL", Language::Ru).unwrap());
        assert_eq!(name, "Первичка  аренда продажа");
        let first: Vec<&Data> = range.rows().nth(1).unwrap().iter().collect();
        assert_eq!(cell_text(first[0]), "Новый лид");
        assert_eq!(first[2], &Data::Float(600_000.0));
        assert_eq!(first[4], &Data::Float(0.7));
        assert_eq!(first[6], &Data::Float(1.5));
        let rate: Vec<&Data> = range.rows().nth(8).unwrap().iter().collect();
        assert_eq!(cell_text(rate[0]), "Доля успешных среди закрытых");
        assert_eq!(rate[5], &Data::Float(0.5));
        assert_eq!(
            range.rows().next().unwrap()[2],
            Data::String("Сумма, GEL".into())
        );
    }

    #[test]
    fn sheet_names_are_valid() {
        assert_eq!(sheet_name("Первичка", "x"), "Первичка");
        assert_eq!(sheet_name("'[]'", "Воронка"), "Воронка");
        assert_eq!(sheet_name(&"я".repeat(40), "x").chars().count(), 31);
    }

    #[test]
    fn export_names_are_unique_and_writes_are_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("Загрузки").join("new");
        let at = NaiveDate::from_ymd_opt(2026, 11, 21)
            .unwrap()
            .and_hms_opt(15, 30, 12)
            .unwrap();
        let mut paths = Vec::new();
        for (i, bytes) in [b"one".as_slice(), b"two", b"three"].iter().enumerate() {
            let r = write_export_at(
                &dir,
                ExportKind::Leads,
                ExportFormat::Xlsx,
                bytes,
                i as u64,
                at,
            )
            .unwrap();
            assert_eq!(r.rows, i as u64);
            paths.push(PathBuf::from(r.path));
        }
        let names: Vec<String> = paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "amosync-leads-2026-11-21-1530.xlsx",
                "amosync-leads-2026-11-21-1530-2.xlsx",
                "amosync-leads-2026-11-21-1530-3.xlsx"
            ]
        );
        assert_eq!(std::fs::read(&paths[0]).unwrap(), b"one");
        assert_eq!(std::fs::read(&paths[2]).unwrap(), b"three");
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 3);
        let csv =
            write_export_at(&dir, ExportKind::Funnel, ExportFormat::Csv, b"x", 1, at).unwrap();
        assert!(csv.path.ends_with("amosync-funnel-2026-11-21-1530.csv"));
        // The wall-clock variant works too.
        let now = write_export(&dir, ExportKind::Leads, ExportFormat::Csv, b"y", 1).unwrap();
        assert!(now.path.contains("amosync-leads-"));
    }

    #[test]
    fn an_unwritable_folder_says_what_to_do() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("not-a-folder");
        std::fs::write(&file, b"x").unwrap();
        let err = write_export(
            &file.join("sub"),
            ExportKind::Leads,
            ExportFormat::Csv,
            b"x",
            0,
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::Local);
        assert!(
            err.message.contains("cannot create the export folder"),
            "{}",
            err.message
        );
        assert!(err.message.contains("another folder"), "{}", err.message);
    }
}
