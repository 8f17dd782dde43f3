//! A short run of each fuzz target for CI; the benchmark run is
//! `cargo run --release -p hotreload-fuzz -- all --inputs 1000000`.

use hotreload_fuzz::{codec, live, rng::Rng, session_fuzz};

#[test]
fn codec_survives_generated_streams() {
    let mut frames = 0;
    for case in 0..2_000u64 {
        let mut rng = Rng::new(case);
        match codec::case(&mut rng, 1 + (case as usize % 16)) {
            Ok(n) => frames += n,
            Err(e) => panic!("case seed {case}: {e}"),
        }
    }
    assert!(frames >= 2_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_answers_every_generated_request() {
    for case in 0..40u64 {
        if let Err(e) = session_fuzz::case(case, 60).await {
            panic!("case seed {case}: {e}");
        }
    }
}

#[test]
fn a_live_stopped_session_answers_every_generated_request() {
    let adapter = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bin/hotreload-dap");
    assert!(
        adapter.is_file(),
        "{} is missing: run scripts/build first",
        adapter.display()
    );
    let report = live::run(&adapter, 300, 7);
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!(report.requests, 300);
}
