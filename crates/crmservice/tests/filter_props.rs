//! Property test: every filter the typed builder produces is accepted by the simulator's parser (an
//! independent reading of the same grammar), so the client never sends a filter the server refuses for
//! its shape.

use chrono::NaiveDate;
use crmservice::{Filter, FilterValue, NowBase, NowUnit};
use proptest::prelude::*;
use proptest::sample::select;
use sim::crm::schema::FieldType;

fn lookup(path: &str) -> Option<FieldType> {
    Some(match path {
        "id" => FieldType::Id,
        "subject" => FieldType::String,
        "start_date" => FieldType::DateTime,
        "private" => FieldType::Boolean,
        "account.name" => FieldType::String,
        _ => return None,
    })
}

fn value_for(field: &'static str) -> BoxedStrategy<FilterValue> {
    match field {
        "id" => (1i64..50).prop_map(FilterValue::Int).boxed(),
        "private" => any::<bool>().prop_map(FilterValue::Bool).boxed(),
        "start_date" => prop_oneof![
            (0u32..28, 0u32..24).prop_map(|(d, h)| FilterValue::DateTime(
                NaiveDate::from_ymd_opt(2026, 11, 1 + d)
                    .unwrap()
                    .and_hms_opt(h, 0, 0)
                    .unwrap()
            )),
            (0u32..28)
                .prop_map(|d| FilterValue::Date(NaiveDate::from_ymd_opt(2026, 11, 1 + d).unwrap())),
            (
                select(vec![NowBase::Now, NowBase::Date]),
                -30i64..30,
                select(vec![
                    NowUnit::Seconds,
                    NowUnit::Minutes,
                    NowUnit::Hours,
                    NowUnit::Days,
                    NowUnit::Weeks,
                    NowUnit::Months,
                    NowUnit::Years,
                ])
            )
                .prop_map(|(b, n, u)| FilterValue::now(b, n, u)),
        ]
        .boxed(),
        _ => "[a-zA-Z äö%_]{0,8}".prop_map(FilterValue::Str).boxed(),
    }
}

fn leaf() -> impl Strategy<Value = Filter> {
    select(vec![
        "id",
        "subject",
        "start_date",
        "private",
        "account.name",
    ])
    .prop_flat_map(|f| {
        let v = value_for(f);
        let text = "[a-zA-Z äö%_]{0,6}";
        prop_oneof![
            (0..6usize, v.clone()).prop_map(move |(op, v)| match op {
                0 => Filter::eq(f, v),
                1 => Filter::ne(f, v),
                2 => Filter::gt(f, v),
                3 => Filter::gte(f, v),
                4 => Filter::lt(f, v),
                _ => Filter::lte(f, v),
            }),
            (any::<bool>(), proptest::collection::vec(v.clone(), 1..4)).prop_map(
                move |(neg, vs)| if neg {
                    Filter::none_of(f, vs)
                } else {
                    Filter::any_of(f, vs)
                }
            ),
            (any::<bool>(), v.clone(), v).prop_map(move |(neg, a, b)| if neg {
                Filter::not_between(f, a, b)
            } else {
                Filter::between(f, a, b)
            }),
            any::<bool>().prop_map(move |n| if n {
                Filter::is_null(f)
            } else {
                Filter::not_null(f)
            }),
            (0..5usize, text).prop_map(move |(op, p)| match op {
                0 => Filter::begins_with(f, &p),
                1 => Filter::ends_with(f, &p),
                2 => Filter::contains(f, &p),
                3 => Filter::not_contains(f, &p),
                _ => Filter::like(f, &p),
            }),
            select(vec!["^a", "b$", "[0-9]+", "x|y"]).prop_map(move |p| Filter::regex(f, p)),
        ]
    })
}

fn filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 1..4).prop_map(Filter::and),
            proptest::collection::vec(inner.clone(), 1..4).prop_map(Filter::or),
            proptest::collection::vec(inner.clone(), 1..4).prop_map(Filter::nor),
            inner.prop_map(Filter::not),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn built_filters_are_accepted_by_the_simulator(f in filter()) {
        let now = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap().and_hms_opt(12, 0, 0).unwrap();
        let json = f.to_json().expect("the builder only makes valid filters from valid parts");
        // Over the wire it is a string; parse it back as the server does.
        let wire: serde_json::Value = serde_json::from_str(&f.to_query_value().unwrap()).unwrap();
        prop_assert_eq!(&wire, &json);
        if let Err(e) = sim::crm::filter::parse(&wire, &lookup, now) {
            return Err(TestCaseError::fail(format!("simulator refused {wire}: {e}")));
        }
    }

}
