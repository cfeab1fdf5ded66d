//! State store tests: batch journalling is all or nothing, and a store waiting on SQLite does
//! not block the async runtime.

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use koppel_core::engine::Flow;
use koppel_core::state::{
    Binding, JournalOutcome, NewIntent, QuarantineEntry, SqliteStore, StateStore, WriteCompletion, WriteOp,
};
use koppel_core::Kind;
use rusqlite::Connection;
use serde_json::json;

fn intent(run: &str, key: &str) -> NewIntent {
    NewIntent {
        run_id: run.into(),
        pair: "p".into(),
        kind: Kind::Product,
        key: key.into(),
        op: WriteOp::Create,
        target_id: None,
        payload: json!({ "sku": key }),
    }
}

fn bound(id: i64, key: &str) -> WriteCompletion {
    WriteCompletion::Bound {
        journal_id: Some(id),
        outcome: JournalOutcome::Created,
        binding: Binding {
            pair: "p".into(),
            kind: Kind::Product,
            key: key.into(),
            target_id: format!("T-{key}"),
            source_id: None,
            hash: format!("h-{key}"),
            payload: json!({ "sku": key }),
            updated_at: Utc::now(),
        },
        label: format!("product {key}"),
    }
}

fn parked(key: &str) -> QuarantineEntry {
    let now = Utc::now();
    QuarantineEntry {
        pair: "p".into(),
        flow: Flow::Products,
        kind: Kind::Product,
        key: key.into(),
        label: format!("product {key}"),
        field: None,
        code: None,
        reason: "refused before".into(),
        error_class: "rejected".into(),
        payload: Some(json!({ "sku": key })),
        attempts: 1,
        first_at: now,
        last_at: now,
        next_attempt: now,
    }
}

/// A second connection to the state file, as another process (or a broken disk) would have.
fn other(path: &Path) -> Connection {
    Connection::open(path).unwrap()
}

#[tokio::test]
async fn a_batch_of_intents_is_stored_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let s = SqliteStore::open(&path).unwrap();
    // the second insert of the batch fails
    other(&path)
        .execute_batch(
            "CREATE TRIGGER poison BEFORE INSERT ON journal WHEN NEW.key = 'B'
             BEGIN SELECT RAISE(ABORT, 'poisoned intent'); END;",
        )
        .unwrap();
    let batch = [intent("r1", "A"), intent("r1", "B"), intent("r1", "C")];
    let e = s.journal_intents(&batch).await.unwrap_err();
    assert!(e.to_string().contains("poisoned intent"), "{e}");
    // not even the first intent of the batch is left
    assert!(s.journal("p", 10).await.unwrap().is_empty());

    other(&path).execute_batch("DROP TRIGGER poison").unwrap();
    let ids = s.journal_intents(&batch).await.unwrap();
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let open = s.open_intents("p", Kind::Product).await.unwrap();
    let keys: Vec<&str> = open.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["A", "B", "C"]);
    assert_eq!(open.iter().map(|e| e.id).collect::<Vec<_>>(), ids);
    // the single-intent method still works, after the batch
    let one = s.journal_intent(&intent("r1", "D")).await.unwrap();
    assert!(one > ids[2]);
    assert!(s.journal_intents(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_failure_mid_batch_leaves_no_partial_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let s = SqliteStore::open(&path).unwrap();
    let ids = s
        .journal_intents(&[intent("r1", "A"), intent("r1", "B"), intent("r1", "C")])
        .await
        .unwrap();
    s.put_quarantine(&parked("A")).await.unwrap();
    let batch = vec![
        bound(ids[0], "A"),
        WriteCompletion::Outcome {
            journal_id: ids[1],
            outcome: JournalOutcome::Rejected,
            target_id: None,
            detail: Some("product B: price: must not be negative".into()),
        },
        bound(ids[2], "C"),
    ];

    // the last binding of the batch fails to store
    other(&path)
        .execute_batch(
            "CREATE TRIGGER poison BEFORE INSERT ON bindings WHEN NEW.key = 'C'
             BEGIN SELECT RAISE(ABORT, 'poisoned binding'); END;",
        )
        .unwrap();
    let e = s.complete_writes(&batch).await.unwrap_err();
    assert!(e.to_string().contains("poisoned binding"), "{e}");
    // no outcome, no binding, no quarantine release of the batch was stored
    assert_eq!(s.open_intents("p", Kind::Product).await.unwrap().len(), 3);
    assert!(s.bindings("p", Kind::Product).await.unwrap().is_empty());
    assert!(s
        .quarantine_entry("p", Kind::Product, "A")
        .await
        .unwrap()
        .is_some());
    other(&path).execute_batch("DROP TRIGGER poison").unwrap();

    // an outcome for a journal row that does not exist fails the batch the same way
    let mut wrong = batch.clone();
    wrong.push(WriteCompletion::Outcome {
        journal_id: ids[2] + 1000,
        outcome: JournalOutcome::Failed,
        target_id: None,
        detail: None,
    });
    let e = s.complete_writes(&wrong).await.unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    assert_eq!(s.open_intents("p", Kind::Product).await.unwrap().len(), 3);
    assert!(s.bindings("p", Kind::Product).await.unwrap().is_empty());

    // the whole batch, once it can be stored
    s.complete_writes(&batch).await.unwrap();
    assert!(s.open_intents("p", Kind::Product).await.unwrap().is_empty());
    let bound_keys: Vec<String> = s
        .bindings("p", Kind::Product)
        .await
        .unwrap()
        .into_iter()
        .map(|b| format!("{}={}", b.key, b.target_id))
        .collect();
    assert_eq!(bound_keys, ["A=T-A", "C=T-C"]);
    assert!(s
        .quarantine_entry("p", Kind::Product, "A")
        .await
        .unwrap()
        .is_none());
    let journal = s.journal("p", 10).await.unwrap();
    let b = journal.iter().find(|e| e.key == "B").unwrap();
    assert_eq!(b.outcome, Some(JournalOutcome::Rejected));
    assert_eq!(
        b.detail.as_deref(),
        Some("product B: price: must not be negative")
    );
    let a = journal.iter().find(|e| e.key == "A").unwrap();
    assert_eq!(a.outcome, Some(JournalOutcome::Created));
    assert_eq!(a.outcome_target_id.as_deref(), Some("T-A"));
}

/// Eight flows journal a batch each while another process holds the state file's write lock.
/// On a single-threaded runtime, a store that waited for the lock on the runtime's thread would
/// stop everything (and here fail with "database is locked" after its busy timeout); this one
/// waits on its own thread, so the test's task keeps running, releases the lock, and then every
/// flow completes. Progress and ordering are asserted, never durations.
#[test]
fn flows_waiting_on_the_store_do_not_block_the_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        let lock = other(&path);
        lock.execute_batch("BEGIN IMMEDIATE").unwrap();

        let flows: Vec<_> = (0..8)
            .map(|f| {
                let s = store.clone();
                tokio::spawn(async move {
                    let keys: Vec<String> = (0..10).map(|i| format!("F{f}-{i}")).collect();
                    let intents: Vec<NewIntent> = keys.iter().map(|k| intent(&format!("r{f}"), k)).collect();
                    let ids = s.journal_intents(&intents).await?;
                    let done: Vec<WriteCompletion> =
                        ids.iter().zip(&keys).map(|(id, k)| bound(*id, k)).collect();
                    s.complete_writes(&done).await?;
                    Ok::<usize, koppel_core::Error>(ids.len())
                })
            })
            .collect();

        // every flow has been polled and is waiting on the store; this task keeps running
        let mut ticks = 0u32;
        while ticks < 200 {
            tokio::task::yield_now().await;
            ticks += 1;
        }
        assert!(
            flows.iter().all(|h| !h.is_finished()),
            "a flow finished while the state file was locked"
        );

        lock.execute_batch("COMMIT").unwrap();
        for h in flows {
            assert_eq!(h.await.unwrap().unwrap(), 10);
        }
        assert_eq!(ticks, 200);
        assert!(store.open_intents("p", Kind::Product).await.unwrap().is_empty());
        assert_eq!(store.bindings("p", Kind::Product).await.unwrap().len(), 80);
        assert_eq!(store.journal("p", 1000).await.unwrap().len(), 80);
    });
}
