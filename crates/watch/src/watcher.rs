//! The watch loop: each round probes every service node, updates its health, and acts on what
//! changed: a down SN is fenced (if a hook is configured) and its nodes are spread over their
//! pools, never to an SN that is not up; a returned SN gets its pending cleanups. Acting needs
//! the single-watcher lock; without it the watcher only observes (standby).

use crate::fence::Fence;
use crate::health::{Health, SnHealth, Transition};
use crate::probe::Prober;
use crate::status::{unix_now, SnStatus, StatusFile};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::{error, info, warn};

/// What acting on the cluster takes (the database, the takeover, the lock).
pub trait Actions {
    /// The service nodes to watch, each with the number of nodes whose primary SN it is.
    fn service_nodes(&mut self) -> Result<BTreeMap<String, usize>, String>;
    /// The addresses held now by an SN other than their owner (`--adopt-address`).
    fn adopted(&mut self) -> Result<Vec<takeover::adopt::Held>, String> {
        Ok(Vec::new())
    }
    /// Become the single active watcher (kept until the process ends): Ok(false) when another
    /// watcher is active.
    fn try_lock(&mut self) -> Result<bool, String>;
    /// Move `sn`'s nodes over their pools, never to `exclude`; with `dry`, only plan. Returns a
    /// summary for the log.
    fn takeover(&mut self, sn: &str, exclude: &[String], dry: bool) -> Result<String, String>;
    /// Run the steps still pending on `sn` (journal entries that wait for it).
    fn cleanup(&mut self, sn: &str) -> Result<String, String>;
    /// Each SN's compute-facing addresses (the addresses its nodes know it by), for the
    /// compute-side checks; none by default.
    fn compute_addresses(&mut self) -> Result<BTreeMap<String, Vec<String>>, String> {
        Ok(BTreeMap::new())
    }
    /// Move back to `sn` the nodes the watcher's takeovers moved away from it that are still
    /// on the SN they were moved to, once its pending cleanups are done (else an error);
    /// never running steps on `down`. With `dry`, only plan. None: nothing to move back.
    fn move_back(&mut self, sn: &str, down: &[String], dry: bool)
        -> Result<Option<String>, String>;
}

#[derive(Debug, Clone)]
pub struct Config {
    pub interval: Duration,
    /// Failed rounds in a row that declare an SN down (and passed rounds that bring it back).
    pub threshold: u32,
    /// Log what would be done; change nothing.
    pub report_only: bool,
    pub fence: Option<Fence>,
    pub state_file: Option<PathBuf>,
    /// Move the nodes taken over from an SN back to it once it has returned (off by default:
    /// an SN that comes back is not fed nodes again).
    pub move_back: bool,
    /// How long a returned SN must stay up before its nodes move back (beyond the threshold
    /// rounds that declared it back), so that a flapping SN is not fed nodes at once.
    pub move_back_after: Duration,
}

/// What a round did, for the log and for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Down(String),
    Returned(String),
    NothingToMove(String),
    WouldMove(String, String),
    FenceFailed(String, String),
    /// Down, but no service node of its pools passed this round's probe to take its nodes:
    /// neither fenced nor taken over (yet).
    NoTarget(String, String),
    /// More than half of the SNs fail at once: acting on none.
    Isolated,
    /// Most SNs answer again after an isolation: acting resumes.
    Rejoined,
    Moved(String, String),
    MoveFailed(String, String),
    Cleaned(String, String),
    CleanupFailed(String, String),
    WouldMoveBack(String, String),
    MovedBack(String, String),
    MoveBackFailed(String, String),
    Standby,
    Active,
}

pub struct Watcher<P: Prober, A: Actions> {
    pub cfg: Config,
    pub prober: P,
    pub actions: A,
    pub status: StatusFile,
    /// The Prometheus text, refreshed every round (served by [`crate::metrics::serve`]).
    pub metrics: Arc<Mutex<String>>,
    standby_logged: bool,
    /// The last failure logged per SN: a failure that repeats every round is logged once.
    failures: BTreeMap<String, String>,
    /// Rounds so far; returned SNs waiting to get their nodes back, with the round since which
    /// they have been up (None while failing again: the hold starts anew when it passes).
    /// Removed when moved back or when nothing is left to move.
    round: u64,
    returned: BTreeMap<String, Option<u64>>,
    /// Per SN in its current down period: failed fence attempts, and the round before which
    /// no new attempt is made (backoff).
    fence_tries: BTreeMap<String, (u32, u64)>,
}

impl<P: Prober, A: Actions> Watcher<P, A> {
    pub fn new(cfg: Config, prober: P, actions: A) -> Self {
        let status = StatusFile {
            pid: std::process::id(),
            interval_secs: cfg.interval.as_secs_f64(),
            report_only: cfg.report_only,
            ..Default::default()
        };
        Watcher {
            cfg,
            prober,
            actions,
            status,
            metrics: Arc::new(Mutex::new(String::new())),
            standby_logged: false,
            failures: BTreeMap::new(),
            round: 0,
            returned: BTreeMap::new(),
            fence_tries: BTreeMap::new(),
        }
    }

    /// One round.
    pub fn tick(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        let now = unix_now();
        self.round += 1;
        match self.actions.service_nodes() {
            Ok(sns) => {
                self.status.sns.retain(|sn, _| sns.contains_key(sn));
                for (sn, nodes) in sns {
                    self.status.sns.entry(sn).or_default().nodes = nodes;
                }
            }
            Err(e) => error!("cannot read the service nodes from the database: {e}"),
        }
        match self.actions.adopted() {
            Ok(a) => self.status.adopted = a,
            Err(e) => error!("cannot read the adopted addresses from the journal: {e}"),
        }
        let names: Vec<String> = self.status.sns.keys().cloned().collect();
        match self.actions.compute_addresses() {
            Ok(c) => self.prober.set_compute(c),
            Err(e) => error!("cannot read the service nodes' compute addresses: {e}"),
        }
        let mut seen = self.prober.probe(&names);
        let mut changed = Vec::new();
        for (sn, st) in self.status.sns.iter_mut() {
            let obs = seen.remove(sn).unwrap_or_default();
            let why = obs.error.clone().unwrap_or_default();
            match st.health.observe(obs, self.cfg.threshold, now) {
                Transition::None => {}
                Transition::Failing => warn!(sn = %sn, "failing: {why}"),
                Transition::Recovered => {
                    info!(sn = %sn, "passes its probes again");
                    if let Some(r) = self.returned.get_mut(sn) {
                        *r = Some(self.round);
                    }
                }
                Transition::Down => {
                    error!(sn = %sn, nodes = st.nodes, "declared down after {} failed rounds: {why}", self.cfg.threshold);
                    events.push(Event::Down(sn.clone()));
                    self.fence_tries.remove(sn);
                }
                Transition::Returned => {
                    info!(sn = %sn, "returned: up again for {} rounds", self.cfg.threshold);
                    events.push(Event::Returned(sn.clone()));
                    changed.push(sn.clone());
                    if self.cfg.move_back {
                        self.returned.insert(sn.clone(), Some(self.round));
                    }
                }
            }
            // A down SN that answers again: its stale DHCP, boot and console entries go at this
            // first contact, before it counts as up, so two SNs never answer for a node.
            if st.health.health == Health::Down && st.health.successes == 1 {
                info!(sn = %sn, "answers again: removing the entries of the nodes it lost before it counts as up");
                changed.push(sn.clone());
            }
            // Failing again, even below the threshold: the hold starts anew when it passes.
            if st.health.health != Health::Up {
                if let Some(r) = self.returned.get_mut(sn) {
                    *r = None;
                }
            }
        }
        self.note_isolation(&mut events);
        // Publish what was seen before acting (a takeover can take a while).
        self.publish(now);
        if !self.status.isolated && self.may_act(&mut events) {
            for sn in changed {
                self.cleanup(&sn, &mut events);
            }
            let pending: Vec<String> = self
                .status
                .sns
                .iter()
                .filter(|(_, s)| s.health.health == Health::Down && !s.health.handled)
                .map(|(sn, _)| sn.clone())
                .collect();
            for sn in pending {
                self.handle_down(&sn, &mut events);
            }
            let hold = self.hold_rounds();
            let due: Vec<String> = self
                .returned
                .iter()
                .filter(|(_, r)| r.is_some_and(|r| self.round >= r + hold))
                .map(|(sn, _)| sn.clone())
                .collect();
            for sn in due {
                self.move_back(&sn, &mut events);
            }
        }
        self.publish(now);
        events
    }

    /// Report-only watchers never act, so they need no lock; others act only with it.
    fn may_act(&mut self, events: &mut Vec<Event>) -> bool {
        if self.cfg.report_only || self.status.active {
            return true;
        }
        match self.actions.try_lock() {
            Ok(true) => {
                info!("active: this watcher holds the lock and acts");
                self.status.active = true;
                events.push(Event::Active);
                true
            }
            Ok(false) => {
                if !self.standby_logged {
                    info!("standby: another watcher holds the lock; watching only");
                    self.standby_logged = true;
                }
                events.push(Event::Standby);
                false
            }
            Err(e) => {
                error!("cannot take the single-watcher lock: {e}");
                false
            }
        }
    }

    fn handled(&mut self, sn: &str) -> Option<&mut SnHealth> {
        self.status.sns.get_mut(sn).map(|s| &mut s.health)
    }

    /// More than half of the service nodes (at least two) failed this round: the management
    /// node itself may be cut off, and acting on what it sees would fence healthy SNs.
    fn observer_suspect(&self) -> Option<(usize, usize)> {
        let total = self.status.sns.len();
        let failing = self
            .status
            .sns
            .values()
            .filter(|s| !s.health.last.ok())
            .count();
        (total >= 2 && failing * 2 > total).then_some((failing, total))
    }

    /// Enter or leave the isolated state, loudly.
    fn note_isolation(&mut self, events: &mut Vec<Event>) {
        let suspect = self.observer_suspect();
        if suspect.is_some() == self.status.isolated {
            return;
        }
        self.status.isolated = suspect.is_some();
        match suspect {
            Some((failing, total)) => {
                error!("management node isolated? {failing} of {total} service nodes fail at once: acting on none (no fencing, no takeover) until most of them answer again");
                events.push(Event::Isolated);
            }
            None => {
                warn!("most service nodes answer again: acting resumes");
                events.push(Event::Rejoined);
            }
        }
    }

    fn handle_down(&mut self, sn: &str, events: &mut Vec<Event>) {
        if self.status.sns.get(sn).is_some_and(|s| s.health.last.ok()) {
            // It passed this round's probe: coming back, not to be fenced or taken over.
            return;
        }
        let nodes = self.status.sns.get(sn).map_or(0, |s| s.nodes);
        if nodes == 0 {
            info!(sn = %sn, "down, but it is no node's primary service node: nothing to move");
            events.push(Event::NothingToMove(sn.to_string()));
            if let Some(h) = self.handled(sn) {
                h.handled = true;
            }
            return;
        }
        // Never to an SN that is not up itself.
        let exclude = self.not_up();
        if self.cfg.report_only {
            let text = self
                .actions
                .takeover(sn, &exclude, true)
                .unwrap_or_else(|e| format!("no takeover possible: {e}"));
            warn!(sn = %sn, "report-only: would take over its {nodes} nodes: {text}");
            events.push(Event::WouldMove(sn.to_string(), text));
            if let Some(h) = self.handled(sn) {
                h.handled = true;
            }
            return;
        }
        // Fence only when a takeover can follow: an SN of the pools passed this round's probe.
        if let Err(e) = self.actions.takeover(sn, &exclude, true) {
            let msg = format!("neither fenced nor taken over: no service node can take its nodes now (checked every round): {e}");
            self.log_failure(sn, msg);
            events.push(Event::NoTarget(sn.to_string(), e));
            return;
        }
        if !self.fence(sn, events) {
            return;
        }
        match self.actions.takeover(sn, &exclude, false) {
            Ok(text) => {
                warn!(sn = %sn, "took over its {nodes} nodes: {text}");
                self.failures.remove(sn);
                self.status.takeovers += 1;
                if let Some(h) = self.handled(sn) {
                    h.handled = true;
                }
                events.push(Event::Moved(sn.to_string(), text));
            }
            Err(e) => {
                let msg = format!("takeover failed (retried every round): {e}");
                self.log_failure(sn, msg);
                events.push(Event::MoveFailed(sn.to_string(), e));
            }
        }
    }

    /// Fence `sn` once per down period; a failed attempt is retried after 1, 2, 4, ... 32
    /// rounds. True when it is fenced, or no fencing is configured (`--no-fence`, said on every
    /// takeover).
    fn fence(&mut self, sn: &str, events: &mut Vec<Event>) -> bool {
        let Some(f) = self.cfg.fence.clone() else {
            warn!(sn = %sn, "taking over without fencing (--no-fence): if it is still alive, it may answer for its nodes too");
            return true;
        };
        if self.status.sns.get(sn).is_some_and(|s| s.health.fenced) {
            return true;
        }
        let (tries, next) = self.fence_tries.get(sn).copied().unwrap_or((0, 0));
        if self.round < next {
            return false;
        }
        match f.run(sn) {
            Ok(()) => {
                info!(sn = %sn, "fenced");
                self.fence_tries.remove(sn);
                if let Some(h) = self.handled(sn) {
                    h.fenced = true;
                }
                true
            }
            Err(e) => {
                let wait = 1u64 << tries.min(5);
                error!(sn = %sn, "not taken over: fencing failed (attempt {}, next in {wait} rounds): {e}", tries + 1);
                self.fence_tries
                    .insert(sn.to_string(), (tries + 1, self.round + wait));
                events.push(Event::FenceFailed(sn.to_string(), e));
                false
            }
        }
    }

    /// `--move-back-after` in rounds (the watcher counts rounds, not clock time).
    fn hold_rounds(&self) -> u64 {
        let i = self.cfg.interval.as_secs_f64();
        if i <= 0.0 {
            return 0;
        }
        (self.cfg.move_back_after.as_secs_f64() / i).ceil() as u64
    }

    /// The service nodes that are not up (down or not yet known): never a destination.
    fn not_up(&self) -> Vec<String> {
        self.status
            .sns
            .iter()
            .filter(|(_, s)| s.health.health != Health::Up)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Once per up period: the move is done, or there was nothing to move (report-only: said
    /// once); a failure (e.g. cleanups still pending) is retried next round.
    fn move_back(&mut self, sn: &str, events: &mut Vec<Event>) {
        let down = self.not_up();
        let dry = self.cfg.report_only;
        match self.actions.move_back(sn, &down, dry) {
            Ok(None) => {
                info!(sn = %sn, "back: no node the watcher moved away is left to move back");
                self.returned.remove(sn);
            }
            Ok(Some(text)) if dry => {
                warn!(sn = %sn, "report-only: would move nodes back: {text}");
                events.push(Event::WouldMoveBack(sn.to_string(), text));
                self.returned.remove(sn);
            }
            Ok(Some(text)) => {
                warn!(sn = %sn, "moved nodes back: {text}");
                self.failures.remove(sn);
                events.push(Event::MovedBack(sn.to_string(), text));
                self.returned.remove(sn);
            }
            Err(e) => {
                self.log_failure(sn, format!("not moved back yet (retried every round): {e}"));
                events.push(Event::MoveBackFailed(sn.to_string(), e));
            }
        }
    }

    /// Log a failure unless it is the same as the last one logged for this SN.
    fn log_failure(&mut self, sn: &str, msg: String) {
        if self.failures.get(sn) != Some(&msg) {
            error!(sn = %sn, "{msg}");
            self.failures.insert(sn.to_string(), msg);
        }
    }

    fn cleanup(&mut self, sn: &str, events: &mut Vec<Event>) {
        self.failures.remove(sn);
        if self.cfg.report_only {
            return;
        }
        match self.actions.cleanup(sn) {
            Ok(text) => {
                info!(sn = %sn, "pending cleanups: {text}");
                events.push(Event::Cleaned(sn.to_string(), text));
            }
            Err(e) => {
                error!(sn = %sn, "pending cleanups failed: {e}");
                events.push(Event::CleanupFailed(sn.to_string(), e));
            }
        }
    }

    fn publish(&mut self, now: u64) {
        self.status.updated = now;
        if let Some(p) = &self.cfg.state_file {
            if let Err(e) = self.status.write(p) {
                error!("cannot write the state file {}: {e}", p.display());
            }
        }
        if let Ok(mut m) = self.metrics.lock() {
            *m = crate::metrics::render(&self.status);
        }
    }

    /// Rounds every `interval` until `stop` says so; then the state file says the watcher
    /// stopped, so that `baton status` never shows a dead watcher as active.
    pub fn run(&mut self, stop: &dyn Fn() -> bool) {
        while !stop() {
            let t0 = Instant::now();
            self.tick();
            let left = self.cfg.interval.saturating_sub(t0.elapsed());
            let until = Instant::now() + left;
            while Instant::now() < until && !stop() {
                std::thread::sleep(left.min(Duration::from_millis(100)));
            }
        }
        self.status.stopped = true;
        self.status.active = false;
        self.publish(unix_now());
        info!("stopped");
    }
}

/// A status entry for `baton status` when no watcher runs: one probe round, read as is.
pub fn probe_once<P: Prober>(prober: &mut P, sns: &BTreeMap<String, usize>) -> StatusFile {
    let names: Vec<String> = sns.keys().cloned().collect();
    let mut seen = prober.probe(&names);
    let mut st = StatusFile {
        updated: unix_now(),
        ..Default::default()
    };
    for (sn, nodes) in sns {
        let mut h = SnHealth::default();
        h.observe(seen.remove(sn).unwrap_or_default(), 1, st.updated);
        st.sns.insert(
            sn.clone(),
            SnStatus {
                health: h,
                nodes: *nodes,
            },
        );
    }
    st
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Observation;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Per round, the SNs that fail.
    struct Script {
        rounds: Vec<Vec<&'static str>>,
        i: usize,
    }

    impl Prober for Script {
        fn probe(&mut self, sns: &[String]) -> BTreeMap<String, Observation> {
            let down = self.rounds.get(self.i).cloned().unwrap_or_default();
            self.i += 1;
            sns.iter()
                .map(|sn| {
                    let ok = !down.contains(&sn.as_str());
                    let o = Observation {
                        checks: [("ssh".to_string(), ok)].into(),
                        error: (!ok).then(|| "refused".into()),
                        ..Default::default()
                    };
                    (sn.clone(), o)
                })
                .collect()
        }
    }

    /// A cluster in memory: sn → its nodes; a takeover spreads them over the others not
    /// excluded.
    #[derive(Default)]
    struct World {
        nodes: BTreeMap<String, usize>,
        calls: Vec<String>,
        locked_elsewhere: bool,
        /// Per SN taken over: where its nodes went (and are still).
        away: BTreeMap<String, BTreeMap<String, usize>>,
        /// Rounds in which the returned SN's cleanups still fail.
        cleanup_failures: usize,
        /// No SN can take the nodes: the dry-run plan fails.
        no_target: bool,
        /// Takeovers that fail before one succeeds.
        takeover_failures: usize,
    }

    #[derive(Clone, Default)]
    struct Mock(Rc<RefCell<World>>);

    impl Actions for Mock {
        fn service_nodes(&mut self) -> Result<BTreeMap<String, usize>, String> {
            Ok(self.0.borrow().nodes.clone())
        }
        fn try_lock(&mut self) -> Result<bool, String> {
            Ok(!self.0.borrow().locked_elsewhere)
        }
        fn takeover(&mut self, sn: &str, exclude: &[String], dry: bool) -> Result<String, String> {
            let mut w = self.0.borrow_mut();
            w.calls.push(format!(
                "takeover {sn} dry={dry} exclude={}",
                exclude.join(",")
            ));
            if dry {
                return match w.no_target {
                    true => Err("no SN of the pool is up".into()),
                    false => Ok("plan".into()),
                };
            }
            if w.takeover_failures > 0 {
                w.takeover_failures -= 1;
                return Err("database locked".into());
            }
            let n = w.nodes.insert(sn.to_string(), 0).unwrap_or(0);
            let to: Vec<String> = w
                .nodes
                .keys()
                .filter(|k| *k != sn && !exclude.contains(k))
                .cloned()
                .collect();
            for i in 0..n {
                let dest = to[i % to.len()].clone();
                *w.nodes.get_mut(&dest).unwrap() += 1;
                *w.away
                    .entry(sn.to_string())
                    .or_default()
                    .entry(dest)
                    .or_default() += 1;
            }
            Ok("moved".into())
        }
        fn cleanup(&mut self, sn: &str) -> Result<String, String> {
            self.0.borrow_mut().calls.push(format!("cleanup {sn}"));
            Ok("none".into())
        }
        fn move_back(
            &mut self,
            sn: &str,
            down: &[String],
            dry: bool,
        ) -> Result<Option<String>, String> {
            let mut w = self.0.borrow_mut();
            w.calls
                .push(format!("move_back {sn} dry={dry} down={}", down.join(",")));
            if w.cleanup_failures > 0 {
                w.cleanup_failures -= 1;
                return Err("cleanups still pending".into());
            }
            let away = w.away.get(sn).cloned().unwrap_or_default();
            let n: usize = away.values().sum();
            if n == 0 {
                return Ok(None);
            }
            if !dry {
                for (to, k) in away {
                    *w.nodes.get_mut(&to).unwrap() -= k;
                }
                *w.nodes.get_mut(sn).unwrap() += n;
                w.away.remove(sn);
            }
            Ok(Some(format!("{n} nodes")))
        }
    }

    fn watcher(
        rounds: Vec<Vec<&'static str>>,
        cfg: impl FnOnce(&mut Config),
    ) -> (Watcher<Script, Mock>, Mock) {
        let mock = Mock::default();
        mock.0.borrow_mut().nodes =
            [("sn1".into(), 6), ("sn2".into(), 3), ("sn3".into(), 3)].into();
        let mut c = Config {
            interval: Duration::from_millis(1),
            threshold: 3,
            report_only: false,
            fence: None,
            state_file: None,
            move_back: false,
            move_back_after: Duration::ZERO,
        };
        cfg(&mut c);
        let w = Watcher::new(c, Script { rounds, i: 0 }, mock.clone());
        (w, mock)
    }

    fn run_all(w: &mut Watcher<Script, Mock>) -> Vec<Event> {
        let n = w.prober.rounds.len();
        (0..n).flat_map(|_| w.tick()).collect()
    }

    #[test]
    fn a_down_sn_is_taken_over_once_never_to_a_failing_one() {
        let r = vec![
            vec![],
            vec!["sn1"],
            vec!["sn1", "sn3"],
            vec!["sn1"],
            vec!["sn1"],
            vec!["sn1"],
        ];
        let (mut w, mock) = watcher(r, |_| {});
        let ev = run_all(&mut w);
        assert!(ev.contains(&Event::Down("sn1".into())), "{ev:?}");
        let calls = mock.0.borrow().calls.clone();
        // Declared down in round 4; sn3 failed round 3 but passed round 4: it is up again.
        // Planned first (a takeover can follow), then done.
        assert_eq!(
            calls,
            [
                "takeover sn1 dry=true exclude=sn1",
                "takeover sn1 dry=false exclude=sn1"
            ],
            "{calls:?}"
        );
        assert_eq!(w.status.takeovers, 1);
        assert_eq!(mock.0.borrow().nodes["sn1"], 0);
    }

    #[test]
    fn failing_sns_are_excluded() {
        let r = vec![vec![], vec!["sn1"], vec!["sn1"], vec!["sn1", "sn3"]];
        let (mut w, mock) = watcher(r, |_| {});
        // Four SNs: two failing at once is not yet most of them.
        mock.0.borrow_mut().nodes.insert("sn4".into(), 0);
        run_all(&mut w);
        let calls = super::tests::calls(&mock, "takeover sn1 dry=false");
        assert_eq!(calls, ["takeover sn1 dry=false exclude=sn1,sn3"]);
        assert_eq!(mock.0.borrow().nodes["sn3"], 3, "nothing to sn3");
        assert_eq!(
            mock.0.borrow().nodes["sn2"] + mock.0.borrow().nodes["sn4"],
            9
        );
    }

    #[test]
    fn flapping_causes_no_storm_and_nothing_moves_back() {
        // Flaps below the threshold, goes down once, comes back, flaps, goes down again.
        let mut r: Vec<Vec<&str>> = vec![vec![]];
        for _ in 0..10 {
            r.push(vec!["sn1"]);
            r.push(vec![]);
        }
        r.extend([vec!["sn1"], vec!["sn1"], vec!["sn1"]]);
        r.extend([vec![], vec![], vec![]]);
        for _ in 0..5 {
            r.extend([
                vec!["sn1"],
                vec!["sn1"],
                vec!["sn1"],
                vec![],
                vec![],
                vec![],
            ]);
        }
        let (mut w, mock) = watcher(r, |_| {});
        let ev = run_all(&mut w);
        let downs = ev.iter().filter(|e| matches!(e, Event::Down(_))).count();
        assert_eq!(downs, 6, "{ev:?}");
        let moves: Vec<String> = mock
            .0
            .borrow()
            .calls
            .iter()
            .filter(|c| c.starts_with("takeover") && c.contains("dry=false"))
            .cloned()
            .collect();
        assert_eq!(
            moves.len(),
            1,
            "one takeover, then nothing left to move: {moves:?}"
        );
        assert_eq!(
            ev.iter()
                .filter(|e| matches!(e, Event::NothingToMove(_)))
                .count(),
            5
        );
        // Each return runs the pending cleanups; nothing is moved back.
        assert_eq!(
            mock.0
                .borrow()
                .calls
                .iter()
                .filter(|c| *c == "cleanup sn1")
                .count(),
            12,
            "at the first answer and at the return, six times"
        );
        assert_eq!(mock.0.borrow().nodes["sn1"], 0);
    }

    #[test]
    fn report_only_plans_and_changes_nothing() {
        let r = vec![
            vec![],
            vec!["sn1"],
            vec!["sn1"],
            vec!["sn1"],
            vec!["sn1"],
            vec![],
            vec![],
            vec![],
        ];
        let (mut w, mock) = watcher(r, |c| c.report_only = true);
        let ev = run_all(&mut w);
        assert!(ev.contains(&Event::WouldMove("sn1".into(), "plan".into())));
        assert_eq!(mock.0.borrow().calls, ["takeover sn1 dry=true exclude=sn1"]);
        assert_eq!(mock.0.borrow().nodes["sn1"], 6);
    }

    #[test]
    fn a_standby_watcher_never_acts_until_it_gets_the_lock() {
        let r = vec![vec![], vec!["sn1"], vec!["sn1"], vec!["sn1"], vec!["sn1"]];
        let (mut w, mock) = watcher(r, |_| {});
        mock.0.borrow_mut().locked_elsewhere = true;
        for _ in 0..4 {
            w.tick();
        }
        assert!(mock.0.borrow().calls.is_empty());
        assert!(!w.status.active);
        // The other watcher is gone: this one takes over the SN still down and unhandled.
        mock.0.borrow_mut().locked_elsewhere = false;
        let ev = w.tick();
        assert!(ev.contains(&Event::Active), "{ev:?}");
        assert_eq!(calls(&mock, "takeover sn1 dry=false").len(), 1);
    }

    #[test]
    fn a_failed_fence_stops_the_takeover_until_it_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let gate = dir.path().join("fence-ok");
        let r = vec![vec![], vec!["sn1"], vec!["sn1"], vec!["sn1"], vec!["sn1"]];
        let (mut w, mock) = watcher(r, |c| {
            c.fence = Some(Fence {
                argv: vec![
                    "sh".into(),
                    "-c".into(),
                    "test -e \"$0\"".into(),
                    gate.display().to_string(),
                ],
                timeout: Duration::from_secs(10),
                builtin: None,
            })
        });
        let ev: Vec<Event> = (0..4).flat_map(|_| w.tick()).collect();
        assert!(
            ev.iter().any(|e| matches!(e, Event::FenceFailed(..))),
            "{ev:?}"
        );
        assert!(
            calls(&mock, "takeover sn1 dry=false").is_empty(),
            "no move without fencing"
        );
        std::fs::write(&gate, "").unwrap();
        let ev = w.tick();
        assert!(ev.iter().any(|e| matches!(e, Event::Moved(..))), "{ev:?}");
    }

    #[test]
    fn state_file_and_metrics_follow_each_round() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.json");
        let r = vec![vec![], vec!["sn2"]];
        let (mut w, _mock) = watcher(r, |c| c.state_file = Some(p.clone()));
        run_all(&mut w);
        let st = StatusFile::read_fresh(&p, unix_now(), 60).unwrap();
        assert_eq!(st.sns["sn2"].health.health, Health::Failing);
        assert_eq!(st.sns["sn1"].nodes, 6);
        let m = w.metrics.lock().unwrap().clone();
        assert!(m.contains("baton_sn_up{sn=\"sn2\"} 0"), "{m}");
    }

    fn calls(mock: &Mock, prefix: &str) -> Vec<String> {
        let w = mock.0.borrow();
        w.calls
            .iter()
            .filter(|c| c.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// Up, down (declared in round 4), back (declared in round 7), then up for `after` rounds.
    fn down_and_back(after: usize) -> Vec<Vec<&'static str>> {
        let mut r = vec![vec![], vec!["sn1"], vec!["sn1"], vec!["sn1"]];
        r.extend([vec![], vec![], vec![]]);
        r.extend((0..after).map(|_| vec![]));
        r
    }

    #[test]
    fn nothing_moves_back_unless_configured() {
        let (mut w, mock) = watcher(down_and_back(5), |_| {});
        let ev = run_all(&mut w);
        assert!(ev.contains(&Event::Returned("sn1".into())), "{ev:?}");
        assert!(calls(&mock, "move_back").is_empty());
        assert_eq!(mock.0.borrow().nodes["sn1"], 0);
    }

    #[test]
    fn a_returned_sn_gets_its_nodes_back_once_after_its_cleanups() {
        let (mut w, mock) = watcher(down_and_back(6), |c| c.move_back = true);
        let ev = run_all(&mut w);
        let back: Vec<&Event> = ev
            .iter()
            .filter(|e| matches!(e, Event::MovedBack(..)))
            .collect();
        assert_eq!(back, [&Event::MovedBack("sn1".into(), "6 nodes".into())]);
        // The cleanup runs first, in the same round; then one move back and no further call.
        let all = mock.0.borrow().calls.clone();
        let c = all.iter().position(|c| c == "cleanup sn1").unwrap();
        let m = all.iter().position(|c| c.starts_with("move_back")).unwrap();
        assert!(c < m, "{all:?}");
        assert_eq!(calls(&mock, "move_back"), ["move_back sn1 dry=false down="]);
        assert_eq!(mock.0.borrow().nodes["sn1"], 6);
        // Down again: taken over again, and back again once.
        let mut again = vec![vec!["sn1"], vec!["sn1"], vec!["sn1"]];
        again.extend([vec![], vec![], vec![], vec![]]);
        w.prober = Script {
            rounds: again,
            i: 0,
        };
        run_all(&mut w);
        assert_eq!(calls(&mock, "takeover sn1 dry=false").len(), 2);
        assert_eq!(calls(&mock, "move_back").len(), 2);
        assert_eq!(mock.0.borrow().nodes["sn1"], 6);
    }

    #[test]
    fn pending_cleanups_delay_the_move_back_and_the_failure_is_retried() {
        let (mut w, mock) = watcher(down_and_back(4), |c| c.move_back = true);
        mock.0.borrow_mut().cleanup_failures = 2;
        let ev = run_all(&mut w);
        let failed = ev
            .iter()
            .filter(|e| matches!(e, Event::MoveBackFailed(..)))
            .count();
        assert_eq!(failed, 2, "{ev:?}");
        assert!(ev.iter().any(|e| matches!(e, Event::MovedBack(..))));
        assert_eq!(calls(&mock, "move_back").len(), 3);
    }

    #[test]
    fn a_flapping_sn_gets_nothing_back_until_it_stays_up_for_the_hold_time() {
        // Hold: 4 rounds of 1 ms. Returned in round 7 (due in round 11), it fails once in
        // round 9 (below the threshold) and passes from round 10: the hold starts anew there.
        let mut r = down_and_back(0);
        r.extend([vec![], vec!["sn1"], vec![], vec![], vec![], vec![]]);
        let (mut w, mock) = watcher(r, |c| {
            c.move_back = true;
            c.move_back_after = Duration::from_millis(4);
        });
        let ev = run_all(&mut w);
        assert!(calls(&mock, "move_back").is_empty(), "{ev:?}");
        // Round 14: up for the whole hold since round 10.
        w.prober = Script {
            rounds: vec![vec![], vec![], vec![]],
            i: 0,
        };
        let ev = run_all(&mut w);
        assert_eq!(calls(&mock, "move_back").len(), 1, "{ev:?}");
        assert!(ev.contains(&Event::MovedBack("sn1".into(), "6 nodes".into())));
        assert_eq!(mock.0.borrow().nodes["sn1"], 6);
    }

    #[test]
    fn report_only_says_what_it_would_move_back_and_moves_nothing() {
        let (mut w, mock) = watcher(down_and_back(4), |c| c.move_back = true);
        // What a report-only watcher sees: nodes moved away (by an active watcher).
        mock.0.borrow_mut().away = [("sn1".into(), [("sn2".into(), 3)].into())].into();
        w.cfg.report_only = true;
        let ev = run_all(&mut w);
        assert!(
            ev.contains(&Event::WouldMoveBack("sn1".into(), "3 nodes".into())),
            "{ev:?}"
        );
        assert_eq!(calls(&mock, "move_back"), ["move_back sn1 dry=true down="]);
        assert_eq!(mock.0.borrow().nodes["sn1"], 6);
    }

    /// A fence program that appends a line to `log` per call and exits with the status in
    /// the file `status` (0 when it is missing).
    fn recording_fence(log: &std::path::Path, status: &std::path::Path) -> Fence {
        Fence {
            argv: vec![
                "sh".into(),
                "-c".into(),
                "echo \"$2\" >> \"$0\"; exit $(cat \"$1\" 2>/dev/null || echo 0)".into(),
                log.display().to_string(),
                status.display().to_string(),
            ],
            timeout: Duration::from_secs(10),
            builtin: None,
        }
    }

    fn lines(p: &std::path::Path) -> usize {
        std::fs::read_to_string(p).map_or(0, |s| s.lines().count())
    }

    #[test]
    fn a_cut_off_management_node_fences_and_moves_nothing() {
        // Every SN fails for 8 rounds (the management node's link is cut), then all answer.
        let mut r = vec![vec![]];
        r.extend((0..8).map(|_| vec!["sn1", "sn2", "sn3"]));
        r.extend((0..4).map(|_| vec![]));
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("fenced");
        let f = recording_fence(&log, &dir.path().join("status"));
        let (mut w, mock) = watcher(r, |c| c.fence = Some(f));
        let mut isolated_seen = false;
        let mut ev = Vec::new();
        for _ in 0..w.prober.rounds.len() {
            ev.extend(w.tick());
            isolated_seen |= w.status.isolated;
        }
        assert!(isolated_seen && ev.contains(&Event::Isolated), "{ev:?}");
        assert!(ev.contains(&Event::Rejoined), "{ev:?}");
        assert!(!w.status.isolated);
        assert_eq!(lines(&log), 0, "nothing fenced");
        assert!(
            calls(&mock, "takeover").is_empty(),
            "{:?}",
            mock.0.borrow().calls
        );
        let m = crate::metrics::render(&w.status);
        assert!(m.contains("baton_watch_isolated 0"), "{m}");
    }

    #[test]
    fn a_down_sn_is_fenced_only_when_a_takeover_can_follow() {
        let r = vec![
            vec![],
            vec!["sn1"],
            vec!["sn1"],
            vec!["sn1"],
            vec!["sn1"],
            vec!["sn1"],
        ];
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("fenced");
        let f = recording_fence(&log, &dir.path().join("status"));
        let (mut w, mock) = watcher(r, |c| c.fence = Some(f));
        mock.0.borrow_mut().no_target = true;
        let ev: Vec<Event> = (0..5).flat_map(|_| w.tick()).collect();
        assert!(
            ev.iter().any(|e| matches!(e, Event::NoTarget(..))),
            "{ev:?}"
        );
        assert_eq!(lines(&log), 0, "no fence while nothing can take the nodes");
        mock.0.borrow_mut().no_target = false;
        let ev = w.tick();
        assert!(ev.iter().any(|e| matches!(e, Event::Moved(..))), "{ev:?}");
        assert_eq!(lines(&log), 1);
    }

    #[test]
    fn fencing_runs_once_per_down_period_and_failures_back_off() {
        let mut r = vec![vec![]];
        r.extend((0..14).map(|_| vec!["sn1"]));
        let dir = tempfile::tempdir().unwrap();
        let (log, status) = (dir.path().join("fenced"), dir.path().join("status"));
        let f = recording_fence(&log, &status);
        // A fence that keeps failing: attempts back off (rounds 4, 5, 7, 11 of 15), not every
        // round.
        std::fs::write(&status, "1").unwrap();
        let (mut w, mock) = watcher(r.clone(), |c| c.fence = Some(f.clone()));
        run_all(&mut w);
        assert_eq!(lines(&log), 4, "attempts: {}", lines(&log));
        assert!(calls(&mock, "takeover sn1 dry=false").is_empty());
        // A fence that works, and a takeover that fails twice: fenced once, moved on the third.
        std::fs::remove_file(&log).unwrap();
        std::fs::write(&status, "0").unwrap();
        let (mut w, mock) = watcher(r, |c| c.fence = Some(f));
        mock.0.borrow_mut().takeover_failures = 2;
        let ev = run_all(&mut w);
        assert_eq!(lines(&log), 1, "fenced once per down period");
        assert_eq!(calls(&mock, "takeover sn1 dry=false").len(), 3);
        assert!(ev.iter().any(|e| matches!(e, Event::Moved(..))), "{ev:?}");
    }

    #[test]
    fn the_state_file_says_when_the_watcher_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.json");
        let (mut w, _mock) = watcher(vec![vec![]], |c| c.state_file = Some(p.clone()));
        let rounds = std::cell::Cell::new(0);
        w.run(&|| {
            rounds.set(rounds.get() + 1);
            rounds.get() > 2
        });
        let st: StatusFile = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert!(st.stopped && !st.active);
        assert!(crate::metrics::render(&st).contains("baton_watch_up 0"));
    }

    #[test]
    fn a_returning_sn_is_cleaned_at_its_first_answer_before_it_counts_as_up() {
        let r = vec![
            vec![],
            vec!["sn1"],
            vec!["sn1"],
            vec!["sn1"],
            vec![],
            vec![],
            vec![],
        ];
        let (mut w, mock) = watcher(r, |_| {});
        for _ in 0..4 {
            w.tick();
        }
        assert_eq!(calls(&mock, "takeover sn1 dry=false").len(), 1);
        let ev = w.tick();
        assert!(
            ev.iter()
                .any(|e| matches!(e, Event::Cleaned(sn, _) if sn == "sn1")),
            "{ev:?}"
        );
        assert_eq!(
            w.status.sns["sn1"].health.health,
            Health::Down,
            "not up yet"
        );
    }
}
