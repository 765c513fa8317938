//! Funnel over N leads: the redb store against SQLite on the same rows.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use amo::models::Lead;
use amosync_store::{FunnelQuery, Origin, Store, TimeRange};
use rusqlite::{Connection, params};
use serde_json::{Value, json};

use crate::data::{self, Account, LeadGen};
use crate::log;

/// Leads per write transaction while filling.
pub const FILL_BATCH: usize = 10_000;
/// Timed runs per query (the median is reported), after one warm-up run.
const RUNS: usize = 7;
/// No timed query loop may run longer than this in total.
const QUERY_BUDGET: Duration = Duration::from_secs(120);

pub struct FunnelResult {
    pub json: serde_json::Map<String, Value>,
    pub mismatch: Option<String>,
}

/// Per-status (count, price sum).
type Counts = BTreeMap<u64, (u64, i64)>;

pub struct Setup<'a> {
    pub dir: &'a Path,
    pub leads: u64,
    pub account: &'a Account,
    pub templates: &'a [Lead],
    pub main_pipeline: u64,
    /// The filtered variant: created in range and one of these users.
    pub created: TimeRange,
    pub responsible: Vec<u64>,
}

pub fn run(s: &Setup<'_>) -> Result<FunnelResult, String> {
    let mut out = serde_json::Map::new();
    let store_path = s.dir.join("funnel.redb");

    // ---- fill the store
    log(&format!(
        "funnel: filling the redb store with {} leads ({} per write transaction)…",
        s.leads, FILL_BATCH
    ));
    let store = Store::open(&store_path).map_err(|e| format!("Store::open: {e}"))?;
    let now_ms = data::FIXED_NOW * 1000;
    store
        .write(|tx| {
            tx.set_now_ms(now_ms);
            tx.set_binding(&s.account.binding)?;
            tx.put_pipelines(&s.account.pipelines)?;
            tx.put_users(&s.account.users)?;
            // As if a full pull had just finished, so a serving process over
            // this store only runs a short incremental catch-up.
            let now = crate::now_ms() / 1000;
            tx.update_sync_state(|st| {
                st.leads_cursor = Some(now);
                st.contacts_cursor = Some(now);
                st.companies_cursor = Some(now);
                st.events_cursor = Some(now);
                st.initial_sync_at = Some(now);
                st.last_catchup_at = Some(now);
            })
        })
        .map_err(|e| format!("store setup: {e}"))?;
    let t0 = Instant::now();
    let mut gen_time = Duration::ZERO;
    let mut leadgen = LeadGen::new(s.templates, s.leads, data::FIXED_NOW);
    let mut batch: Vec<Lead> = Vec::with_capacity(FILL_BATCH);
    let mut written = 0u64;
    let mut last_report = Instant::now();
    loop {
        let g = Instant::now();
        batch.clear();
        batch.extend(leadgen.by_ref().take(FILL_BATCH));
        gen_time += g.elapsed();
        if batch.is_empty() {
            break;
        }
        store
            .write(|tx| {
                tx.set_now_ms(now_ms);
                for lead in &batch {
                    tx.upsert_lead(lead, Origin::Api)?;
                }
                Ok(())
            })
            .map_err(|e| format!("store fill: {e}"))?;
        written += batch.len() as u64;
        if last_report.elapsed() > Duration::from_secs(10) {
            last_report = Instant::now();
            log(&format!(
                "funnel:   {written} leads in {:.1} s",
                t0.elapsed().as_secs_f64()
            ));
        }
    }
    let fill = t0.elapsed().saturating_sub(gen_time);
    let store_fill_lps = written as f64 / fill.as_secs_f64();
    log(&format!(
        "funnel: store filled: {written} leads in {:.1} s ({:.0} leads/s, generation {:.1} s excluded)",
        fill.as_secs_f64(),
        store_fill_lps,
        gen_time.as_secs_f64()
    ));
    out.insert(
        "store_fill_leads_per_s".into(),
        json!(store_fill_lps.round()),
    );
    out.insert("store_fill_s".into(), json!(round(fill.as_secs_f64(), 2)));
    out.insert(
        "store_fill_batch".into(),
        json!(format!("{FILL_BATCH} upsert_lead per Store::write")),
    );
    out.insert(
        "store_file_mb".into(),
        json!(round(file_mb(&store_path), 1)),
    );

    // ---- time the store's funnel
    let plain = FunnelQuery {
        pipeline_id: s.main_pipeline,
        ..FunnelQuery::default()
    };
    let filtered = FunnelQuery {
        pipeline_id: s.main_pipeline,
        created: Some(s.created),
        responsible_user_ids: s.responsible.clone(),
        ..FunnelQuery::default()
    };
    let (store_ms, store_counts) = time_store(&store, &plain)?;
    let (store_f_ms, store_f_counts) = time_store(&store, &filtered)?;
    log(&format!(
        "funnel: store funnel {store_ms:.2} ms, filtered {store_f_ms:.2} ms (median of {RUNS})"
    ));
    out.insert("funnel_ms_1m".into(), json!(round(store_ms, 3)));
    out.insert("funnel_filtered_ms_1m".into(), json!(round(store_f_ms, 3)));
    drop(store);
    match raw_facts_scan(&store_path) {
        Ok((ms, rows)) => {
            log(&format!(
                "funnel: diagnostic: a bare redb scan of the store's lead_facts table ({rows} rows) takes {ms:.2} ms"
            ));
            out.insert("diag_redb_lead_facts_scan_ms".into(), json!(round(ms, 3)));
            out.insert("diag_redb_lead_facts_rows".into(), json!(rows));
        }
        Err(e) => log(&format!("funnel: diagnostic scan skipped: {e}")),
    }

    // ---- SQLite on the same rows
    let sqlite_path = s.dir.join("funnel.sqlite");
    let conn = Connection::open(&sqlite_path).map_err(|e| format!("sqlite open: {e}"))?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-262144;
         PRAGMA temp_store=MEMORY; PRAGMA mmap_size=1073741824;
         CREATE TABLE leads (
             id INTEGER PRIMARY KEY,
             pipeline_id INTEGER NOT NULL,
             status_id INTEGER NOT NULL,
             price INTEGER NOT NULL,
             responsible_user_id INTEGER NOT NULL,
             created_at INTEGER NOT NULL,
             updated_at INTEGER NOT NULL,
             closed_at INTEGER,
             is_deleted INTEGER NOT NULL,
             name TEXT NOT NULL
         );
         CREATE INDEX leads_pipeline ON leads(pipeline_id);",
    )
    .map_err(|e| format!("sqlite schema: {e}"))?;
    log("funnel: filling SQLite with the same leads…");
    let t0 = Instant::now();
    let mut leadgen = LeadGen::new(s.templates, s.leads, data::FIXED_NOW);
    let mut gen_time = Duration::ZERO;
    loop {
        let g = Instant::now();
        batch.clear();
        batch.extend(leadgen.by_ref().take(FILL_BATCH));
        gen_time += g.elapsed();
        if batch.is_empty() {
            break;
        }
        let tx = conn
            .unchecked_transaction()
            .map_err(|e| format!("sqlite tx: {e}"))?;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO leads (id, pipeline_id, status_id, price, responsible_user_id,
                     created_at, updated_at, closed_at, is_deleted, name)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(|e| format!("sqlite prepare: {e}"))?;
            for l in &batch {
                st.execute(params![
                    l.id as i64,
                    l.pipeline_id as i64,
                    l.status_id as i64,
                    l.price,
                    l.responsible_user_id as i64,
                    l.created_at,
                    l.updated_at,
                    l.closed_at,
                    l.is_deleted as i64,
                    l.name,
                ])
                .map_err(|e| format!("sqlite insert: {e}"))?;
            }
        }
        tx.commit().map_err(|e| format!("sqlite commit: {e}"))?;
    }
    conn.execute_batch("ANALYZE;")
        .map_err(|e| format!("sqlite analyze: {e}"))?;
    let sfill = t0.elapsed().saturating_sub(gen_time);
    out.insert(
        "sqlite_fill_leads_per_s".into(),
        json!((written as f64 / sfill.as_secs_f64()).round()),
    );

    let sql_plain = "SELECT status_id, COUNT(*), SUM(price) FROM leads \
                     WHERE pipeline_id = ?1 AND is_deleted = 0 GROUP BY status_id";
    // The users go in as literals: SQLite plans a literal IN list best.
    let users = s
        .responsible
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let sql_filtered = &format!(
        "SELECT status_id, COUNT(*), SUM(price) FROM leads \
                        WHERE pipeline_id = ?1 AND is_deleted = 0 \
                        AND created_at >= ?2 AND created_at < ?3 \
                        AND responsible_user_id IN ({users}) \
                        GROUP BY status_id"
    );
    let from = s.created.from.unwrap_or(i64::MIN);
    let to = s.created.to.unwrap_or(i64::MAX);
    let p = s.main_pipeline as i64;

    let (sq_ms, sq_counts) = time_sql(&conn, sql_plain, &[&p])?;
    let (sq_f_ms, sq_f_counts) = time_sql(&conn, sql_filtered, &[&p, &from, &to])?;
    let plan = query_plan(&conn, sql_plain, &[&p]);
    let plan_f = query_plan(&conn, sql_filtered, &[&p, &from, &to]);
    log(&format!(
        "funnel: SQLite (index on pipeline_id) {sq_ms:.2} ms [{plan}], filtered {sq_f_ms:.2} ms [{plan_f}]"
    ));

    // Give SQLite its best case too: a covering index for both queries.
    conn.execute_batch(
        "CREATE INDEX leads_funnel ON leads(pipeline_id, is_deleted, status_id, price, created_at, responsible_user_id); ANALYZE;",
    )
    .map_err(|e| format!("sqlite covering index: {e}"))?;
    let (sqc_ms, _) = time_sql(&conn, sql_plain, &[&p])?;
    let (sqc_f_ms, _) = time_sql(&conn, sql_filtered, &[&p, &from, &to])?;
    let plan_c = query_plan(&conn, sql_plain, &[&p]);
    log(&format!(
        "funnel: SQLite (covering index) {sqc_ms:.2} ms [{plan_c}], filtered {sqc_f_ms:.2} ms"
    ));
    out.insert("sqlite_funnel_ms".into(), json!(round(sq_ms, 3)));
    out.insert("sqlite_funnel_filtered_ms".into(), json!(round(sq_f_ms, 3)));
    out.insert(
        "funnel_ratio_vs_sqlite".into(),
        json!(round(sq_ms / store_ms, 2)),
    );
    out.insert(
        "funnel_filtered_ratio_vs_sqlite".into(),
        json!(round(sq_f_ms / store_f_ms, 2)),
    );
    out.insert("sqlite_covering_funnel_ms".into(), json!(round(sqc_ms, 3)));
    out.insert(
        "sqlite_covering_funnel_filtered_ms".into(),
        json!(round(sqc_f_ms, 3)),
    );
    out.insert(
        "funnel_ratio_vs_sqlite_covering".into(),
        json!(round(sqc_ms / store_ms, 2)),
    );
    out.insert(
        "funnel_filtered_ratio_vs_sqlite_covering".into(),
        json!(round(sqc_f_ms / store_f_ms, 2)),
    );
    out.insert("sqlite_plan".into(), json!(plan));
    out.insert("sqlite_plan_filtered".into(), json!(plan_f));
    out.insert(
        "sqlite_file_mb".into(),
        json!(round(
            file_mb(&sqlite_path) + file_mb(&sqlite_path.with_extension("sqlite-wal")),
            1
        )),
    );
    drop(conn);

    // ---- both must agree
    let mut mismatch = None;
    if store_counts != sq_counts {
        mismatch = Some(format!(
            "store funnel differs from SQLite: store {store_counts:?} vs sqlite {sq_counts:?}"
        ));
    } else if store_f_counts != sq_f_counts {
        mismatch = Some(format!(
            "filtered store funnel differs from SQLite: store {store_f_counts:?} vs sqlite {sq_f_counts:?}"
        ));
    }
    let total: u64 = store_counts.values().map(|c| c.0).sum();
    let total_f: u64 = store_f_counts.values().map(|c| c.0).sum();
    out.insert("funnel_pipeline_leads".into(), json!(total));
    out.insert("funnel_filtered_leads".into(), json!(total_f));
    out.insert("funnel_matches_sqlite".into(), json!(mismatch.is_none()));
    Ok(FunnelResult {
        json: out,
        mismatch,
    })
}

fn time_store(store: &Store, q: &FunnelQuery) -> Result<(f64, Counts), String> {
    let once = || -> Result<(f64, Counts), String> {
        let t = Instant::now();
        let f = store
            .funnel(q)
            .map_err(|e| format!("Store::funnel: {e}"))?
            .ok_or_else(|| format!("Store::funnel: pipeline {} unknown", q.pipeline_id))?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let counts = f
            .statuses
            .iter()
            .filter(|s| s.count > 0)
            .map(|s| (s.status_id, (s.count, s.price_sum)))
            .collect();
        Ok((ms, counts))
    };
    median_of(once)
}

/// Diagnostic: the filtered funnel scans the store's `lead_facts` table (lead
/// id → 88-byte fixed row). This opens the closed store file read-only with
/// redb itself and times a bare iteration over that table (one field read per
/// row), the floor any scan-based filter over it pays.
fn raw_facts_scan(path: &Path) -> Result<(f64, u64), String> {
    const FACTS: redb::TableDefinition<u64, &[u8; 88]> = redb::TableDefinition::new("lead_facts");
    use redb::{ReadableDatabase, ReadableTable};
    let db = redb::ReadOnlyDatabase::open(path).map_err(|e| e.to_string())?;
    let tx = db.begin_read().map_err(|e| e.to_string())?;
    let table = tx.open_table(FACTS).map_err(|e| e.to_string())?;
    let once = || -> Result<(f64, Counts), String> {
        let t = Instant::now();
        let mut rows = 0u64;
        let mut acc = 0u64;
        for row in table.iter().map_err(|e| e.to_string())? {
            let (_, v) = row.map_err(|e| e.to_string())?;
            let v = v.value();
            acc = acc.wrapping_add(u64::from(v[0]));
            rows += 1;
        }
        std::hint::black_box(acc);
        let mut c = Counts::new();
        c.insert(0, (rows, 0));
        Ok((t.elapsed().as_secs_f64() * 1000.0, c))
    };
    let (ms, c) = median_of(once)?;
    Ok((ms, c.get(&0).map_or(0, |r| r.0)))
}

fn time_sql(
    conn: &Connection,
    sql: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<(f64, Counts), String> {
    let once = || -> Result<(f64, Counts), String> {
        let t = Instant::now();
        let mut st = conn
            .prepare_cached(sql)
            .map_err(|e| format!("sqlite prepare: {e}"))?;
        let rows = st
            .query_map(args, |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    (r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)?),
                ))
            })
            .map_err(|e| format!("sqlite query: {e}"))?;
        let counts = rows
            .collect::<Result<Counts, _>>()
            .map_err(|e| format!("sqlite row: {e}"))?;
        Ok((t.elapsed().as_secs_f64() * 1000.0, counts))
    };
    median_of(once)
}

/// One warm-up run, then up to [`RUNS`] timed runs within [`QUERY_BUDGET`]; the median.
fn median_of(
    mut once: impl FnMut() -> Result<(f64, Counts), String>,
) -> Result<(f64, Counts), String> {
    let start = Instant::now();
    let (_, counts) = once()?;
    let mut times = Vec::with_capacity(RUNS);
    while times.len() < RUNS && (times.is_empty() || start.elapsed() < QUERY_BUDGET) {
        let (ms, c) = once()?;
        if c != counts {
            return Err("the same query gave different answers on repeated runs".into());
        }
        times.push(ms);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], counts))
}

fn query_plan(conn: &Connection, sql: &str, args: &[&dyn rusqlite::ToSql]) -> String {
    let Ok(mut st) = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")) else {
        return String::new();
    };
    let Ok(rows) = st.query_map(args, |r| r.get::<_, String>(3)) else {
        return String::new();
    };
    rows.filter_map(Result::ok).collect::<Vec<_>>().join("; ")
}

pub fn file_mb(p: &Path) -> f64 {
    std::fs::metadata(p)
        .map(|m| m.len() as f64 / 1_048_576.0)
        .unwrap_or(0.0)
}

pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}
