//! A CI-sized batch of `kill-stress` (tests/src/bin/kill-stress.rs): natmod-ld killed with
//! SIGKILL at random points of a golden link leaves the old or the new complete output, and at
//! most one temporary, which the next run removes.

#[allow(dead_code)]
#[path = "../src/bin/kill-stress.rs"]
mod kill_stress;

#[test]
fn sigkill_leaves_old_or_new_output_and_no_temp_pile_up() {
    let opts = kill_stress::Options {
        trials: 50,
        dir: natmod_tests::target_bin_dir()
            .join("kill-stress-test")
            .join(std::process::id().to_string()),
        ..Default::default()
    };
    let r = kill_stress::run(&opts);
    println!("kill-stress: {r:?}");
    assert!(r.violations.is_empty(), "{:#?}", r.violations);
    assert_eq!(r.trials, 50);
    assert_eq!(
        r.killed_old_kept + r.killed_new_written + r.exited_before_kill,
        50,
        "every trial is accounted for"
    );
    assert!(
        r.killed_old_kept > 0,
        "no kill landed before the rename: {r:?}"
    );
    assert!(r.max_temps <= 1, "{r:?}");
    assert_eq!(
        r.stale_removed, r.killed_in_write,
        "every temporary a killed run left was removed by a later run"
    );
}
