//! Per-stage counters, and the names of every metric Khabar exports. Every stage of every
//! kind counts the same four things under the same names and labels (`component_id`,
//! `component_kind`, `component_type`, as Vector names them), so dashboards and logs read
//! alike whatever the pipeline.

use serde::{Deserialize, Serialize};

/// The counters of one stage at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageMetrics {
    pub stage: String,
    pub kind: String,
    pub received: u64,
    pub sent: u64,
    pub dropped: u64,
    pub errored: u64,
    /// Milliseconds of CPU the stage's own calls took (see `StageCounters::cpu_nanos`).
    pub cpu_ms: u64,
}

/// Metric names, in one place so that the exporter, the docs and the tests agree. Counters
/// end in `_total`; durations are in seconds, sizes in bytes.
pub mod names {
    /// Records that came into a stage (labels: `component_id`, `component_kind`,
    /// `component_type`).
    pub const RECEIVED: &str = "khabar_component_received_records_total";
    /// Records a stage passed on (same labels).
    pub const SENT: &str = "khabar_component_sent_records_total";
    /// Records a stage dropped on purpose (a duplicate, a filter) (same labels).
    pub const DROPPED: &str = "khabar_component_dropped_records_total";
    /// Records a stage failed on (same labels).
    pub const ERRORED: &str = "khabar_component_errors_total";
    /// CPU time of a stage's own calls (same labels).
    pub const CPU_MILLISECONDS: &str = "khabar_component_cpu_milliseconds_total";
    /// Records waiting in a stage's input channel, and its size (same labels).
    pub const QUEUE_DEPTH: &str = "khabar_component_queue_depth";
    pub const QUEUE_CAPACITY: &str = "khabar_component_queue_capacity";
    /// Settled acknowledgements (`outcome`: delivered, retry, rejected).
    pub const ACKS: &str = "khabar_acks_total";
    /// Records a sink was given per write, and how long the write took (`component_id`).
    pub const SINK_BATCH_SIZE: &str = "khabar_sink_batch_size";
    pub const SINK_WRITE_SECONDS: &str = "khabar_sink_write_duration_seconds";
    /// Attempts made again after a transient failure (`component_id`).
    pub const RETRIES: &str = "khabar_retries_total";
    /// Records written to the dead-letter file (`component_id`).
    pub const DEAD_LETTERS: &str = "khabar_dead_letters_total";
    /// State store calls and how long they took (`operation`: get, put, delete, keys, lease,
    /// release; `result`: ok, error).
    pub const STATE_SECONDS: &str = "khabar_state_operation_duration_seconds";
    /// Feed polls that completed, of every result.
    pub const FEED_POLLS_COMPLETED: &str = "khabar_feed_polls_completed_total";
    /// New items found in feeds.
    pub const ITEMS_NEW: &str = "khabar_feed_items_new_total";
    /// Panics caught and recovered from.
    pub const TASKS_CRASHED: &str = "khabar_tasks_crashed_total";
    /// Seconds since the daemon started.
    pub const UPTIME: &str = "khabar_uptime_seconds";
    /// The process's resident set size.
    pub const RESIDENT_MEMORY: &str = "process_resident_memory_bytes";
    /// 1 while the pipeline runs (`phase="running"`), 0 while it builds or stops.
    pub const READY_PHASE: &str = "khabar_pipeline_running";
}

/// Gives each metric its help text (the `# HELP` lines); called once, after the recorder is
/// installed.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(names::RECEIVED, "Records that came into the stage");
    describe_counter!(names::SENT, "Records the stage passed on");
    describe_counter!(
        names::DROPPED,
        "Records the stage dropped on purpose (duplicates, filters)"
    );
    describe_counter!(names::ERRORED, "Records the stage failed on");
    describe_counter!(
        names::CPU_MILLISECONDS,
        Unit::Milliseconds,
        "CPU time of the stage's own calls"
    );
    describe_gauge!(
        names::QUEUE_DEPTH,
        "Records waiting in the stage's input channel"
    );
    describe_gauge!(names::QUEUE_CAPACITY, "Size of the stage's input channel");
    describe_counter!(names::ACKS, "Settled acknowledgements, by outcome");
    describe_histogram!(names::SINK_BATCH_SIZE, "Records per sink write");
    describe_histogram!(
        names::SINK_WRITE_SECONDS,
        Unit::Seconds,
        "How long a sink write took"
    );
    describe_counter!(
        names::RETRIES,
        "Attempts made again after a transient failure"
    );
    describe_counter!(
        names::DEAD_LETTERS,
        "Records written to the dead-letter file"
    );
    describe_histogram!(
        names::STATE_SECONDS,
        Unit::Seconds,
        "State store calls, by operation and result"
    );
    describe_counter!(names::FEED_POLLS_COMPLETED, "Feed polls, of every result");
    describe_counter!(names::ITEMS_NEW, "New items found in feeds");
    describe_counter!(names::TASKS_CRASHED, "Panics caught and recovered from");
    describe_gauge!(
        names::UPTIME,
        Unit::Seconds,
        "Seconds since the daemon started"
    );
    describe_gauge!(
        names::RESIDENT_MEMORY,
        Unit::Bytes,
        "Resident set size of the process"
    );
    describe_gauge!(
        names::READY_PHASE,
        "1 while the pipeline runs, 0 while it builds or stops"
    );
}
