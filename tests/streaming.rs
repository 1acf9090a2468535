//! Streamed metadata: a file's Objects blocks are read during the render a
//! window at a time (adm::stream, scene::ObjectBlocks). The oracle is the
//! same scene with every block held in memory (the path the ear comparisons
//! verify): the renders must be identical, and the window must stay small
//! whatever the programme's length.

use admix::demo::{DemoSpec, write};
use admix::input::open_input;
use admix::layout::Layout;
use admix::notice::Notices;
use admix::render::{RenderOptions, render};
use admix::scene::{ItemKind, ObjectBlocks, Scene};

use crate::common::{f32_speakers, read_all, shared_dir, test_dir};

/// The scene with every streamed item's blocks read into memory.
fn in_memory(scene: &Scene) -> Scene {
    let mut s = scene.clone();
    for it in &mut s.items {
        if let ItemKind::Object { blocks } = &mut it.kind {
            let all = blocks.read_all(&mut Notices::default()).unwrap();
            *blocks = ObjectBlocks::from_vec(all);
        }
    }
    s
}

#[test]
fn streamed_blocks_render_as_blocks_in_memory_in_a_bounded_window() {
    let dir = test_dir("streaming");
    let master = dir.path().join("master.wav");
    let spec = DemoSpec {
        objects: 6,
        seconds: 12.0,
        sample_rate: 48000,
        bed: true,
    };
    write(&master, &spec).unwrap();
    let layout = Layout::builtin("4+5+0").unwrap().unwrap();
    let out = |name: &str| f32_speakers(&layout, dir.path().join(name));
    for (k, opts) in [
        RenderOptions::default(),
        // a late start leaves the blocks that end before it unread (and
        // drops those read before it as they come)
        RenderOptions {
            start: 7 * 48000 + 123,
            frames: Some(2 * 48000),
        },
        // the engine's first chunk on a block boundary (81 × 4096 samples
        // = 6.912 s, 20 ms blocks), and the last second
        RenderOptions {
            start: 81 * 4096 + 2000,
            frames: Some(48000),
        },
        RenderOptions {
            start: 11 * 48000,
            frames: None,
        },
    ]
    .into_iter()
    .enumerate()
    {
        let (mut input, mut streamed) = open_input(&master, None, None).unwrap();
        let objects: Vec<&ObjectBlocks> = streamed
            .items
            .iter()
            .filter_map(|it| match &it.kind {
                ItemKind::Object { blocks } => Some(blocks),
                _ => None,
            })
            .collect();
        assert_eq!(objects.len(), 6);
        assert!(
            objects.iter().all(|b| b.is_streamed() && b.len() == 600),
            "20 ms blocks for 12 s"
        );
        let mut whole = in_memory(&streamed);
        render(
            &mut streamed,
            &mut input,
            &[out(&format!("s{k}.wav"))],
            &opts,
            &mut |_, _| {},
        )
        .unwrap();
        render(
            &mut whole,
            &mut input,
            &[out(&format!("m{k}.wav"))],
            &opts,
            &mut |_, _| {},
        )
        .unwrap();
        let (a, b) = (
            read_all(&dir.path().join(format!("s{k}.wav"))),
            read_all(&dir.path().join(format!("m{k}.wav"))),
        );
        assert_eq!(a, b, "case {k}: streamed and in-memory renders differ");
        assert!(a.iter().any(|c| c.iter().any(|v| *v != 0.0)));
        // a late start reads none of the blocks that end well before it:
        // at least those of the first 6 s of the 6 objects
        let skipped = streamed.skipped_blocks();
        if opts.start == 0 {
            assert_eq!(skipped, 0);
        } else {
            assert!(skipped >= 6 * 300, "case {k}: {skipped} blocks left unread");
        }
        // a 4096-sample chunk spans ~4 blocks of 20 ms: the window holds a
        // handful, not the 600
        let peak = streamed.peak_held_blocks();
        assert!((1..=8).contains(&peak), "case {k}: {peak} blocks held at once");
        // a second render of the same scene reads the blocks from the start again
        render(
            &mut streamed,
            &mut input,
            &[out(&format!("t{k}.wav"))],
            &opts,
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(
            read_all(&dir.path().join(format!("t{k}.wav"))),
            a,
            "case {k}: second render"
        );
    }
}

/// A render from later in a real file, whose blocks' times are repaired
/// (Pro Tools: 10 ms blocks, ends moved to meet the next block, jumps),
/// equals those samples of the whole render, although it leaves the blocks
/// before its start unread.
#[test]
fn a_late_start_renders_as_the_whole_file_there() {
    let Some(root) = shared_dir("adm-samples") else { return };
    let path = root.join("wavinfo/Test_ADM_ProTools.wav");
    let dir = test_dir("late-start");
    let layout = Layout::builtin("4+5+0").unwrap().unwrap();
    let render_from = |start: u64, name: &str| {
        let (mut input, mut scene) = open_input(&path, None, None).unwrap();
        let out = f32_speakers(&layout, dir.path().join(name));
        let opts = RenderOptions { start, frames: None };
        render(&mut scene, &mut input, &[out], &opts, &mut |_, _| {}).unwrap();
        (read_all(&dir.path().join(name)), scene.skipped_blocks())
    };
    let (whole, none) = render_from(0, "whole.wav");
    assert_eq!(none, 0);
    let mut skipped_any = 0;
    for start in [4096 + 1535 + 1, 20_000, 24_576 + 1535, 30_001, 47_000] {
        let (part, skipped) = render_from(start, &format!("from{start}.wav"));
        for (c, (p, w)) in part.iter().zip(&whole).enumerate() {
            assert_eq!(p[..], w[start as usize..], "start {start}, channel {c}");
        }
        skipped_any += skipped;
    }
    // 4 objects of 10 ms blocks: hundreds left unread over the five starts
    assert!(skipped_any > 300, "{skipped_any} blocks left unread");
}

/// The notices a render's blocks raise (timing repairs, …) do not depend on
/// how far ahead of the render its block reader ran: during a render a
/// thread reads ahead at its own pace, and the report must not change with
/// it. Fed chunk by chunk with no reading ahead, and with reading ahead by
/// 0, 1, 5 chunks and to the end first: the same notices in the same order.
#[test]
fn block_notices_do_not_depend_on_reading_ahead() {
    let Some(root) = shared_dir("adm-samples") else { return };
    // Pro Tools' file: 4 streamed objects with 113 block ends and 18
    // interpolation lengths repaired
    let path = root.join("wavinfo/Test_ADM_ProTools.wav");
    const CHUNK: i64 = 4096;
    let run = |ahead: Option<i64>| {
        let (_input, mut scene) = open_input(&path, None, None).unwrap();
        let at_open = scene.notices.len();
        let mut feed = scene.block_feed();
        let mut c0 = 0;
        while c0 < scene.frames as i64 + 2 * CHUNK {
            if let Some(a) = ahead {
                feed.read_ahead(c0.saturating_add(a));
            }
            scene.feed_blocks(&feed, c0, c0 + CHUNK).unwrap();
            scene.release_blocks(c0 + CHUNK);
            c0 += CHUNK;
        }
        scene.end_block_feed(&mut feed);
        scene.notices.split_off(at_open)
    };
    let plain = run(None);
    let count = |kind: &str| plain.iter().filter(|n| n.kind == kind).count();
    assert_eq!(
        (count("block-time-repaired"), count("interpolation-length-repaired")),
        (113, 18),
        "{plain:#?}"
    );
    // the repairs come from more than one item, so their order is at stake
    let subjects: std::collections::BTreeSet<&str> = plain.iter().map(|n| &n.subject[..11]).collect();
    assert!(subjects.len() > 1, "{subjects:?}");
    for ahead in [0, CHUNK, 5 * CHUNK, i64::MAX] {
        assert_eq!(run(Some(ahead)), plain, "reading {ahead} samples ahead");
    }
}
