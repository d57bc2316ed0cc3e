//! Properties of the knowledge search and the voice-lint on any text: no query and no menu
//! name, in any script, makes them panic, and every hit is well formed. (A Vietnamese "Đ"
//! once panicked the index build inside the phonetic encoder.)

use hostline_shared::knowledge::lint::voice_lint;
use hostline_shared::knowledge::{KindFilter, KnowledgeIndex};
use hostline_shared::restaurant::Restaurant;
use proptest::prelude::*;
use std::sync::OnceLock;

fn taqueria() -> &'static KnowledgeIndex {
    static INDEX: OnceLock<KnowledgeIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let text = include_str!("../../fixtures/restaurants/la-milpa-taqueria.json");
        KnowledgeIndex::build(&Restaurant::parse(text).expect("the taqueria parses"))
    })
}

/// Words from many scripts and the letters that once broke things, run together with spaces.
fn spoken() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        "[a-z]{1,12}",
        "[a-zA-Z0-9'&%-]{1,8}",
        "[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵĐ]{1,6}",
        "[пельмени中文😀ßæøœłı]{1,4}",
        Just("de".to_owned()),
        Just("la".to_owned()),
        Just("con".to_owned()),
    ];
    prop::collection::vec(word, 0..12).prop_map(|w| w.join(" "))
}

fn menu_with(names: &[String]) -> Option<Restaurant> {
    let items: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            serde_json::json!({
                "id": format!("item-{i}"), "name": n, "price_cents": 100 + i,
                "description": format!("{n} with {n}"), "aliases": [n.to_uppercase()]
            })
            .to_string()
        })
        .collect();
    let doc = format!(
        r#"{{"format": "hostline.restaurant/v1",
          "business": {{"name": "P", "address": "1 Main St, Chicago, IL 60601",
            "timezone": "America/Chicago", "currency": "USD", "tax_rate_bps": 1000,
            "phone_lines": [{{"e164": "+17735550198", "label": "main"}}]}},
          "hours": [{{"days": ["mon"], "open": "10:00", "close": "22:00"}}],
          "fulfillment": {{"pickup": true, "delivery": false, "prep_minutes": 10}},
          "menu": {{"categories": [{{"name": "Food", "items": [{}]}}]}},
          "faq": []}}"#,
        items.join(",")
    );
    Restaurant::parse(&doc).ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_query_gets_well_formed_hits(q in spoken()) {
        let ix = taqueria();
        for kinds in [KindFilter::MENU, KindFilter::MODIFIERS, KindFilter::FAQ, KindFilter::ALL] {
            let hits = ix.search(&q, kinds, 5);
            prop_assert!(hits.len() <= 5);
            for h in hits.iter().chain(ix.closest(&q, kinds, 2).iter()) {
                prop_assert!((0.0..=1.0).contains(&h.score), "{h:?}");
                prop_assert!(!h.id.is_empty());
            }
            prop_assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
        }
    }

    #[test]
    fn any_names_build_search_and_lint(names in prop::collection::vec(spoken(), 1..6), q in spoken()) {
        let names: Vec<String> = names
            .into_iter()
            .map(|n| if n.trim().is_empty() { "x".to_owned() } else { n })
            .collect();
        // A name the document format refuses is not this test's business.
        if let Some(r) = menu_with(&names) {
            let ix = KnowledgeIndex::build(&r);
            let _ = ix.search(&q, KindFilter::ALL, 5);
            for n in &names {
                let _ = ix.search(n, KindFilter::ITEMS, 1);
            }
            for w in voice_lint(&r) {
                prop_assert!(!w.ids.is_empty() && !w.message.is_empty());
            }
        }
    }
}

/// The generated menus are real documents (else the property above would test nothing).
#[test]
fn generated_menus_parse() {
    for names in [
        vec!["Phở Tái".to_owned(), "Đặc Biệt".to_owned()],
        vec!["пельмени 中文 😀".to_owned(), "x".to_owned()],
        vec!["de la con".to_owned()],
    ] {
        assert!(menu_with(&names).is_some(), "{names:?}");
    }
}
