//! The browser topic of the report: events per second through three stages in Chromium, in
//! memory and with the IndexedDB log, each beside the plain-JS page a user would write instead.

use super::{NOT_MEASURED, Writer};
use crate::browser::CASES;
use crate::text::{rate, ratio, table};

impl Writer<'_> {
    pub(super) fn browser(&mut self) {
        self.section(
            "Browser: three stages",
            "`web/bench.html` in headless Chromium (`scripts/bench-web.sh`, playwright-core): \
             `u64` events through three stages, each a bounded `Queue` (256 slots, `Block`) in \
             front of a `DynPipeline` whose one interceptor adds 1, on the page's one thread. \
             With the log, the producer appends every event to the IndexedDB log (durability \
             `relaxed`) and syncs every 256; the last stage acknowledges every 256. The plain-JS \
             page is a bounded queue of promises with the same three stages and, for \
             persistence, one `readwrite` transaction per 256 events with one `put` per event \
             and a range `delete` as the acknowledgement. Best of 5 runs of 200,000 events in \
             memory, of 3 runs of 20,000 with IndexedDB. plover writes a batch as one value, \
             the plain page one value per event: most of the IndexedDB ratio comes from that.",
            None,
        );
        let browser = self.inputs.results.browser.clone().unwrap_or_default();
        if browser.figures.is_empty() {
            let why = browser.missing.as_deref().unwrap_or("the benchmark did not run");
            self.body.push_str(&format!("\nNot measured: {why}.\n"));
            return;
        }
        let labels = ["in memory", "IndexedDB log"];
        let rows: Vec<Vec<String>> = CASES
            .iter()
            .zip(labels)
            .map(|((plover, js), label)| {
                let p = browser.figures.get(*plover).map(|f| f.per_second);
                let j = browser.figures.get(*js).map(|f| f.per_second);
                vec![
                    label.to_owned(),
                    p.map_or(NOT_MEASURED.to_owned(), rate),
                    j.map_or(NOT_MEASURED.to_owned(), rate),
                    p.zip(j).map_or("–".to_owned(), |(p, j)| ratio(p / j)),
                ]
            })
            .collect();
        let headers = ["case", "plover", "plain JS", "plover ÷ plain JS"];
        self.body.push_str(&format!("\n{}", table(&headers, &rows)));
    }
}
