//! Every saved fuzz input, replayed through its target: the corpora under `fuzz/corpus/` and
//! the inputs that once crashed a target, kept under `fuzz/regressions/`. This is how CI runs
//! each target on its corpus without libFuzzer (`cargo xtask fuzz` mutates them further).

use std::path::{Path, PathBuf};

fn inputs(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.is_file());
    files.sort();
    files
}

#[test]
fn every_saved_input_passes_through_its_target() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for (name, target) in khabar_fuzzing::TARGETS {
        let corpus = inputs(&fuzz.join("corpus").join(name));
        assert!(
            !corpus.is_empty(),
            "target {name} has no corpus in {}",
            fuzz.display()
        );
        for file in corpus
            .iter()
            .chain(inputs(&fuzz.join("regressions").join(name)).iter())
        {
            let data = std::fs::read(file).unwrap_or_default();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(
                outcome.is_ok(),
                "target {name} panicked on {}",
                file.display()
            );
            replayed += 1;
        }
    }
    eprintln!("replayed {replayed} inputs");
}
