//! CPU accounting of processes from /proc: what a server spent, measured by
//! the kernel rather than by the server itself.

/// Clock ticks per second of /proc's CPU fields (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

/// The fields of /proc/<pid>/stat after the command name, which may hold
/// spaces and parentheses, so it is skipped up to its last `)`.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(") ")?.1;
    Some(after.split_whitespace().map(String::from).collect())
}

fn field(f: &[String], i: usize) -> f64 {
    f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
}

/// CPU seconds (user + system) of `pid`, plus those of its children that it
/// has waited for (cutime + cstime), or 0 if it is gone.
pub fn cpu_seconds(pid: u32) -> f64 {
    // utime, stime, cutime, cstime are fields 14-17 of the file, 11-14 after the name.
    stat_fields(pid).map(|f| (field(&f, 11) + field(&f, 12) + field(&f, 13) + field(&f, 14)) / TICKS).unwrap_or(0.0)
}

/// CPU seconds of this process.
pub fn own_cpu_seconds() -> f64 {
    cpu_seconds(std::process::id())
}

/// Every process id in /proc.
fn pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

/// The parent of `pid` and its command name.
fn parent_and_name(pid: u32) -> Option<(u32, String)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let name = stat.split_once('(')?.1.rsplit_once(')')?.0.to_string();
    let ppid = stat.rsplit_once(") ")?.1.split_whitespace().nth(1)?.parse().ok()?;
    Some((ppid, name))
}

/// CPU seconds of `pid` and of all its live descendants: a server that
/// forks helpers is charged for them too.
pub fn tree_cpu_seconds(pid: u32) -> f64 {
    let all: Vec<(u32, u32)> = pids().into_iter().filter_map(|p| Some((p, parent_and_name(p)?.0))).collect();
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(all.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    tree.iter().map(|p| cpu_seconds(*p)).sum()
}

/// CPU seconds of every process called `postgres` on the machine (all
/// databases: other users' activity is counted too).
pub fn all_postgres_cpu_seconds() -> f64 {
    pids().into_iter().filter(|p| parent_and_name(*p).is_some_and(|(_, n)| n == "postgres")).map(cpu_seconds).sum()
}

/// The machine's load averages, as `uptime` prints them.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// CPU seconds of the postgres backends serving database `db`: their
/// process titles (in /proc/<pid>/cmdline) name the database. A backend
/// that exits between two readings takes its share with it.
pub fn postgres_cpu_seconds_for(db: &str) -> f64 {
    pids()
        .into_iter()
        .filter(|p| parent_and_name(*p).is_some_and(|(_, n)| n == "postgres"))
        .filter(|p| std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(db)))
        .map(cpu_seconds)
        .sum()
}
