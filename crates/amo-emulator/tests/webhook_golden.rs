//! The webhook bodies, byte for byte, against `tests/golden/webhooks/`.
//!
//! `UPDATE_GOLDEN=1 cargo test -p amo-emulator --test webhook_golden`
//! rewrites the files; review the `.txt` diff before committing.

mod webhook_support;

use std::path::PathBuf;

use amo_emulator::model::Change;
use amo_emulator::webhooks::encode::encode_batch;
use webhook_support::{OTHER_MANAGER, account, golden_cases};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/webhooks")
}

/// The body decoded to one `key=value` line per pair (for human review).
fn decoded(body: &str) -> String {
    form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect()
}

fn pairs(body: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[test]
fn golden_bodies_match_byte_for_byte() {
    let dir = golden_dir();
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut mismatches = Vec::new();
    for (name, changes) in golden_cases() {
        let body = encode_batch(&account(), &changes);
        let txt = decoded(&body);
        let form_path = dir.join(format!("{name}.form"));
        let txt_path = dir.join(format!("{name}.txt"));
        if update {
            std::fs::create_dir_all(&dir).expect("create golden dir");
            std::fs::write(&form_path, &body).expect("write golden form");
            std::fs::write(&txt_path, &txt).expect("write golden txt");
            continue;
        }
        let want = std::fs::read_to_string(&form_path).unwrap_or_default();
        if want != body {
            mismatches.push(format!("{name}.form differs"));
        }
        let want_txt = std::fs::read_to_string(&txt_path).unwrap_or_default();
        if want_txt != txt {
            mismatches.push(format!("{name}.txt differs"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "golden mismatches (UPDATE_GOLDEN=1 to rewrite): {mismatches:?}"
    );
}

/// The golden directory holds exactly one `.form` and one `.txt` per case:
/// a missing file and a stray one both fail.
#[test]
fn golden_files_are_exactly_the_cases() {
    use std::collections::BTreeSet;
    let want: BTreeSet<String> = golden_cases()
        .iter()
        .flat_map(|(n, _)| [format!("{n}.form"), format!("{n}.txt")])
        .collect();
    assert_eq!(want.len(), golden_cases().len() * 2, "duplicate case names");
    let entries = std::fs::read_dir(golden_dir()).expect("the golden directory exists");
    let have: BTreeSet<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".form") || f.ends_with(".txt"))
        .collect();
    let missing: Vec<&String> = want.difference(&have).collect();
    let stray: Vec<&String> = have.difference(&want).collect();
    assert!(
        missing.is_empty() && stray.is_empty(),
        "missing golden files {missing:?} (UPDATE_GOLDEN=1 writes them), stray files {stray:?}"
    );
}

#[test]
fn bodies_are_php_encoded_and_end_with_the_account() {
    for (name, changes) in golden_cases() {
        let body = encode_batch(&account(), &changes);
        assert!(
            body.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"%+=&-_.".contains(&b)),
            "{name}: unexpected raw byte"
        );
        assert!(
            !body.contains("%5b") && !body.contains('['),
            "{name}: brackets must be %5B/%5D"
        );
        let pairs = pairs(&body);
        let tail: Vec<&str> = pairs[pairs.len() - 3..]
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(
            tail,
            ["account[subdomain]", "account[id]", "account[_links][self]"],
            "{name}"
        );
        assert!(
            body.ends_with("account%5B_links%5D%5Bself%5D=https%3A%2F%2Frentcar.amocrm.ru"),
            "{name}"
        );
    }
}

#[test]
fn shape_rules_of_amocrm_md() {
    let get = |changes: Vec<Change>| pairs(&encode_batch(&account(), &changes));
    let cases: std::collections::HashMap<_, _> = golden_cases().into_iter().collect();
    let has = |p: &[(String, String)], k: &str| p.iter().any(|(key, _)| key == k);
    let val = |p: &[(String, String)], k: &str| {
        p.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone())
    };

    let add = get(cases["lead_add"].clone());
    assert_eq!(
        val(&add, "leads[add][0][name]").as_deref(),
        Some("Новый лид")
    );
    assert_eq!(val(&add, "leads[add][0][price]").as_deref(), Some("150000"));
    assert_eq!(
        val(&add, "leads[add][0][tags][0][name]").as_deref(),
        Some("Аренда авто")
    );
    assert_eq!(
        val(&add, "leads[add][0][custom_fields][0][values][0][value]").as_deref(),
        Some("Toyota Prius")
    );
    assert_eq!(
        val(&add, "leads[add][0][custom_fields][1][values][0][enum]").as_deref(),
        Some("501001")
    );
    // Date fields: no [value] level.
    assert_eq!(
        val(&add, "leads[add][0][custom_fields][2][values][0]").as_deref(),
        Some("1542067200")
    );
    assert!(!has(
        &add,
        "leads[add][0][custom_fields][2][values][0][value]"
    ));

    let update = get(cases["lead_update"].clone());
    assert!(
        !has(&update, "leads[update][0][price]"),
        "price absent when 0"
    );

    let status = get(cases["lead_status"].clone());
    assert_eq!(
        val(&status, "leads[status][0][old_status_id]").as_deref(),
        Some("69641338")
    );
    assert!(!has(&status, "leads[status][0][old_pipeline_id]"));
    let moved = get(cases["lead_status_pipeline"].clone());
    assert_eq!(
        val(&moved, "leads[status][0][old_pipeline_id]").as_deref(),
        Some("8580999")
    );

    let restore = get(cases["lead_restore"].clone());
    assert_eq!(
        val(&restore, "leads[restore][0][name]").as_deref(),
        Some("")
    );

    let delete = get(cases["lead_delete"].clone());
    let keys: Vec<&str> = delete.iter().map(|(k, _)| k.as_str()).take(3).collect();
    assert_eq!(
        keys,
        [
            "leads[delete][0][id]",
            "leads[delete][0][status_id]",
            "leads[delete][0][pipeline_id]"
        ]
    );
    assert_eq!(delete.len(), 6);

    let contact = get(cases["contact_add"].clone());
    assert_eq!(
        val(&contact, "contacts[add][0][type]").as_deref(),
        Some("contact")
    );
    assert_eq!(
        val(&contact, "contacts[add][0][linked_leads_id][24123002][ID]").as_deref(),
        Some("24123002")
    );
    assert_eq!(
        val(&contact, "contacts[add][0][custom_fields][0][code]").as_deref(),
        Some("PHONE")
    );
    let company = get(cases["company_add"].clone());
    assert_eq!(
        val(&company, "contacts[add][0][type]").as_deref(),
        Some("company")
    );

    let note = get(cases["note_lead"].clone());
    assert_eq!(
        val(&note, "leads[note][0][note][element_type]").as_deref(),
        Some("2")
    );
    assert_eq!(
        val(&note, "leads[note][0][note][note_type]").as_deref(),
        Some("4")
    );
    assert_eq!(
        val(&note, "leads[note][0][note][date_create]").as_deref(),
        Some("2024-05-06 17:53:20")
    );
    let cnote = get(cases["note_contact"].clone());
    assert_eq!(
        val(&cnote, "contacts[note][0][note][element_type]").as_deref(),
        Some("1")
    );
    let conote = get(cases["note_company"].clone());
    assert_eq!(
        val(&conote, "companies[note][0][note][element_type]").as_deref(),
        Some("3")
    );
    assert_eq!(
        val(&contact, "contacts[add][0][company_name]").as_deref(),
        Some("ООО «Автопрокат & Ко»")
    );
    let restored = get(cases["contact_restore"].clone());
    assert_eq!(
        val(&restored, "contacts[restore][0][type]").as_deref(),
        Some("contact")
    );
    let cupdate = get(cases["company_update"].clone());
    assert_eq!(
        val(&cupdate, "contacts[update][0][type]").as_deref(),
        Some("company")
    );
    let cdelete = get(cases["company_delete"].clone());
    assert_eq!(cdelete.len(), 2 + 3, "id and type, then the account block");
    let tupdate = get(cases["task_update"].clone());
    assert_eq!(
        val(&tupdate, "task[update][0][status]").as_deref(),
        Some("1")
    );
    let tresp = get(cases["task_responsible"].clone());
    assert_eq!(
        val(&tresp, "task[responsible][0][responsible_user_id]"),
        Some(OTHER_MANAGER.to_string())
    );
    assert!(has(&tresp, "task[responsible][0][old_responsible_user_id]"));
    let cresp = get(cases["company_responsible"].clone());
    assert_eq!(
        val(&cresp, "contacts[responsible][0][type]").as_deref(),
        Some("company")
    );
    assert!(has(
        &cresp,
        "contacts[responsible][0][old_responsible_user_id]"
    ));
    let tdelete = get(cases["task_delete"].clone());
    assert_eq!(
        val(&tdelete, "task[delete][0][id]").as_deref(),
        Some("88000001")
    );

    let bulk = get(cases["bulk_status_50"].clone());
    assert!(has(&bulk, "leads[status][49][id]") && !has(&bulk, "leads[status][50][id]"));

    let mixed = get(cases["mixed"].clone());
    let tops: Vec<String> = mixed.iter().fold(Vec::new(), |mut acc, (k, _)| {
        let group = match k.match_indices(']').next() {
            Some((end, _)) => k[..=end].to_owned(),
            None => k.clone(),
        };
        if acc.last() != Some(&group) {
            acc.push(group);
        }
        acc
    });
    assert_eq!(
        tops,
        [
            "leads[add]",
            "leads[status]",
            "leads[note]",
            "contacts[add]",
            "contacts[update]",
            "task[add]",
            "talk[update]",
            "account[subdomain]",
            "account[id]",
            "account[_links]"
        ]
    );
    assert!(has(&mixed, "leads[add][1][id]"));
}

#[test]
fn encoder_never_panics_on_odd_input() {
    let mut lead = webhook_support::new_lead();
    lead.name = "\u{0}&=%[]+ \u{1F697}".into();
    lead.price = i64::MIN;
    lead.custom_fields[2].values.clear();
    let body = encode_batch(&account(), &[Change::LeadAdded(lead)]);
    let back = pairs(&body);
    assert_eq!(back[1].1, "\u{0}&=%[]+ \u{1F697}");
    assert!(encode_batch(&account(), &[]).starts_with("account%5Bsubdomain%5D=rentcar"));
}
