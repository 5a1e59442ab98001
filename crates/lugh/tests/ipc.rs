//! The IPC layer over real NNG sockets and threads.

use std::time::{Duration, Instant};

use lugh::ipc::{Endpoint, Sender};
use lugh::msg::{Message, Op, Priority, Source};

mod common;

fn url(name: &str) -> String {
    common::base("test", name)
}

fn wait_for(ep: &Endpoint, n: usize) {
    let t = Instant::now();
    while ep.inbox.depth().iter().sum::<usize>() < n {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "only {:?} of {n} arrived",
            ep.inbox.depth()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn no_low_message_is_handled_while_a_high_one_waits() {
    let u = url("order");
    let ep = Endpoint::bind(&u).unwrap();
    let tx = Sender::connect(&u).unwrap();
    let src = Source {
        service: 2,
        generation: 1,
    };
    // Interleaved: L L M L H L M ... sent on three sockets.
    let mut sent = Vec::new();
    for i in 0..630u64 {
        let p = match i % 21 {
            0 => Priority::High,
            x if x % 2 == 0 => Priority::Medium,
            _ => Priority::Low,
        };
        tx.send(&Message::new(
            p,
            lugh::services::scheduler::SCHEDULE,
            src,
            i,
            vec![],
        ))
        .unwrap();
        sent.push((p, i));
    }
    // The consumer starts only once everything has arrived: what it gets
    // must be every HIGH, then every MEDIUM, then every LOW, each in order.
    wait_for(&ep, 630);
    let got: Vec<(Priority, u64)> = (0..630)
        .map(|_| {
            let m = ep.recv(Duration::ZERO).unwrap().message;
            (m.header.priority, m.header.seq)
        })
        .collect();
    let mut expected = sent.clone();
    expected.sort_by_key(|(p, i)| (*p, *i));
    assert_eq!(got, expected);
    assert_eq!(
        ep.inbox
            .violations
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    drop(tx);
    ep.close();
}

#[test]
fn a_high_message_overtakes_a_waiting_low_backlog() {
    let u = url("overtake");
    let ep = Endpoint::bind(&u).unwrap();
    let tx = Sender::connect(&u).unwrap();
    let src = Source::default();
    for i in 0..2000u64 {
        tx.send(&Message::new(
            Priority::Low,
            lugh::services::scheduler::SCHEDULE,
            src,
            i,
            vec![],
        ))
        .unwrap();
    }
    wait_for(&ep, 2000);
    // Handle a few LOW, then a HIGH arrives: it is next.
    for _ in 0..10 {
        assert_eq!(
            ep.recv(Duration::ZERO).unwrap().message.header.priority,
            Priority::Low
        );
    }
    tx.send(&Message::new(
        Priority::High,
        lugh::services::scheduler::GRID_ALERT,
        src,
        9999,
        vec![],
    ))
    .unwrap();
    wait_for(&ep, 1991);
    assert_eq!(ep.recv(Duration::ZERO).unwrap().message.header.seq, 9999);
    assert_eq!(ep.recv(Duration::ZERO).unwrap().message.header.seq, 10);
    drop(tx);
    ep.close();
}

#[test]
fn corrupt_messages_are_rejected_and_counted_and_the_endpoint_goes_on() {
    let u = url("corrupt");
    let ep = Endpoint::bind(&u).unwrap();
    let tx = Sender::connect(&u).unwrap();
    let good = Message::new(
        Priority::Medium,
        Op::HEARTBEAT,
        Source {
            service: 1,
            generation: 3,
        },
        1,
        b"ok".to_vec(),
    );
    let mut flipped = good.encode().unwrap();
    let last = flipped.len() - 1;
    flipped[last] ^= 0xff;
    tx.send_raw(Priority::Medium, b"garbage").unwrap();
    tx.send_raw(Priority::Medium, &flipped).unwrap();
    tx.send_raw(Priority::High, &[]).unwrap();
    tx.send(&good).unwrap();
    let m = ep
        .recv(Duration::from_secs(5))
        .expect("the good message still arrives");
    assert_eq!(m.message, good);
    let t = Instant::now();
    while ep.inbox.rejected.load(std::sync::atomic::Ordering::Relaxed) < 3 {
        assert!(t.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(ep.inbox.depth(), [0, 0, 0]);
    drop(tx);
    ep.close();
}

#[test]
fn ipc_transport_between_sockets_in_files() {
    let dir = std::env::temp_dir().join(format!("lugh-ipc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let u = format!("ipc://{}/kernel", dir.display());
    let ep = Endpoint::bind(&u).unwrap();
    let tx = Sender::connect(&u).unwrap();
    for i in 0..100u64 {
        tx.send(&Message::new(
            Priority::Low,
            lugh::services::scheduler::SCHEDULE,
            Source::default(),
            i,
            vec![1; 1000],
        ))
        .unwrap();
    }
    for i in 0..100u64 {
        assert_eq!(
            ep.recv(Duration::from_secs(5)).unwrap().message.header.seq,
            i
        );
    }
    drop(tx);
    ep.close();
    let _ = std::fs::remove_dir_all(&dir);
}
