//! Checks the JS API from Rust in a browser: wrong JS values give clear errors, plain and
//! promise-returning interceptors run in order, and a persisted pipeline replays what an
//! earlier one left unhandled.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, Object, Reflect};
use plover_web::time::sleep_ms;
use plover_web::{IdbStorage, WebPipeline};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn options(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &(*k).into(), v).unwrap();
    }
    o.into()
}

async fn create(opts: JsValue) -> Result<WebPipeline, String> {
    WebPipeline::from_options(opts)
        .await
        .map_err(|e| e.unchecked_into::<js_sys::Error>().message().into())
}

/// `f` as a JS function with `this` bound to `target` (an array the test reads back).
fn bound(args: &str, body: &str, target: &Array) -> JsValue {
    let make = Function::new_with_args(
        "target",
        &format!("return function({args}) {{ {body} }}.bind(target)"),
    );
    make.call1(&JsValue::NULL, target).unwrap()
}

fn metric(p: &WebPipeline, name: &str) -> f64 {
    Reflect::get(&p.metrics(), &name.into()).unwrap().as_f64().unwrap()
}

async fn wait_processed(p: &WebPipeline, n: f64) {
    for _ in 0..200 {
        if metric(p, "processed") >= n {
            return;
        }
        sleep_ms(10.0).await;
    }
    panic!("only {} of {n} processed", metric(p, "processed"));
}

#[wasm_bindgen_test]
async fn wrong_option_values_are_clear_errors() {
    let bad_policy = create(options(&[("policy", "drop-all".into())])).await.err().unwrap();
    assert!(bad_policy.contains("policy must be"), "{bad_policy}");
    let bad_capacity = create(options(&[("capacity", 0.5.into())])).await.err().unwrap();
    assert!(bad_capacity.contains("capacity"), "{bad_capacity}");
    let too_big = create(options(&[("capacity", 5000.into())])).await.err().unwrap();
    assert!(too_big.contains("1024"), "{too_big}");
    let bad_db = create(options(&[("persistence", 7.into())])).await.err().unwrap();
    assert!(bad_db.contains("persistence"), "{bad_db}");
    assert!(create(JsValue::from(3)).await.is_err(), "options must be an object");

    let p = create(JsValue::UNDEFINED).await.unwrap();
    assert!(p.intercept("Process", 5.into()).is_err());
    assert!(p.intercept("Nowhere", Function::new_no_args("").into()).is_err());
    assert!(p.on_dropped("no".into()).is_err());
    assert!(JsFuture::from(p.publish_many(4.into())).await.is_err());
}

#[wasm_bindgen_test]
async fn plain_and_promise_interceptors_run_in_order() {
    let p = create(options(&[("capacity", 8.into())])).await.unwrap();
    let seen = Array::new();
    // Features doubles the event after a promise; Process records what it gets.
    let double =
        Function::new_with_args("e", "return new Promise(r => setTimeout(() => r(e * 2), 1))");
    let record = bound("e", "this.push(e)", &seen);
    p.intercept("Process", record).unwrap();
    p.intercept("Features", double.into()).unwrap();
    for n in 1..=5 {
        JsFuture::from(p.publish(n.into())).await.unwrap();
    }
    p.start();
    wait_processed(&p, 5.0).await;
    let got: Vec<f64> = seen.iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(got, vec![2.0, 4.0, 6.0, 8.0, 10.0]);
    assert_eq!(metric(&p, "failed"), 0.0);

    let fail = Function::new_with_args("e", "throw new Error('no')");
    JsFuture::from(p.stop()).await.unwrap();
    p.intercept("Monitoring", fail.into()).unwrap();
    p.start();
    JsFuture::from(p.publish(1.into())).await.unwrap();
    wait_processed(&p, 6.0).await;
    assert_eq!(metric(&p, "failed"), 1.0);
}

#[wasm_bindgen_test]
async fn dropped_events_reach_the_callback() {
    let p =
        create(options(&[("capacity", 2.into()), ("policy", "drop-newest".into())])).await.unwrap();
    let dropped = Array::new();
    let push = bound("kind, e", "this.push(kind + ':' + e)", &dropped);
    p.on_dropped(push).unwrap();
    let events: Array = (1..=4).map(JsValue::from).collect();
    let outcomes: Array = JsFuture::from(p.publish_many(events.into())).await.unwrap().into();
    let outcomes: Vec<String> = outcomes.iter().map(|v| v.as_string().unwrap()).collect();
    assert_eq!(outcomes, ["admitted", "admitted", "refused", "refused"]);
    let dropped: Vec<String> = dropped.iter().map(|v| v.as_string().unwrap()).collect();
    assert_eq!(dropped, ["refused:3", "refused:4"]);
    assert_eq!(metric(&p, "refused"), 2.0);
}

#[wasm_bindgen_test]
async fn persisted_events_not_handled_are_replayed_by_the_next_pipeline() {
    let name = format!("plover-api-{}", js_sys::Date::now());
    let persisted = || options(&[("persistence", name.as_str().into()), ("capacity", 16.into())]);
    let first = create(persisted()).await.unwrap();
    let events: Array = (1..=6).map(|n| JsValue::from(format!("event {n}"))).collect();
    JsFuture::from(first.publish_many(events.into())).await.unwrap();
    assert_eq!(metric(&first, "pending"), 6.0);
    drop(first); // a page closed before its consumer ran

    let second = create(persisted()).await.unwrap();
    assert_eq!(second.replayed(), 6.0);
    let seen = Array::new();
    second.intercept("Process", bound("e", "this.push(e)", &seen)).unwrap();
    second.start();
    wait_processed(&second, 6.0).await;
    JsFuture::from(second.stop()).await.unwrap();
    assert_eq!(seen.get(0).as_string().unwrap(), "event 1");
    assert_eq!(metric(&second, "pending"), 0.0);
    drop(second);

    let third = create(persisted()).await.unwrap();
    assert_eq!(third.replayed(), 0.0, "acknowledged events must not come back");
    drop(third);
    IdbStorage::delete_database(&name).await.unwrap();
}
