//! CPU accounting of processes from /proc: what a server spent, measured by
//! the kernel rather than by the server itself.

/// Clock ticks per second of /proc's CPU fields (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

/// What /proc/<pid>/stat says of a process, read once.
struct Stat {
    name: String,
    ppid: u32,
    /// CPU seconds (user + system), plus those of the children it has
    /// waited for (cutime + cstime).
    cpu: f64,
}

/// Parses /proc/<pid>/stat. The command name may hold spaces and
/// parentheses, so the fields are read after its last `)`.
fn stat(pid: u32) -> Option<Stat> {
    stat_file(&format!("/proc/{pid}/stat"))
}

fn stat_file(path: &str) -> Option<Stat> {
    let text = std::fs::read_to_string(path).ok()?;
    let (head, after) = text.rsplit_once(") ")?;
    let name = head.split_once('(')?.1.to_string();
    let f: Vec<&str> = after.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // ppid is field 4 of the file, 1 after the name; utime, stime, cutime,
    // cstime are fields 14-17, 11-14 after the name.
    let ppid = f.get(1)?.parse().ok()?;
    Some(Stat { name, ppid, cpu: (num(11) + num(12) + num(13) + num(14)) / TICKS })
}

/// CPU seconds (user + system) of `pid`, plus those of its children that it
/// has waited for, or 0 if it is gone.
pub fn cpu_seconds(pid: u32) -> f64 {
    stat(pid).map_or(0.0, |s| s.cpu)
}

/// CPU seconds of this process.
pub fn own_cpu_seconds() -> f64 {
    cpu_seconds(std::process::id())
}

/// CPU seconds of the calling thread alone, in steps of 10 ms: time more
/// than a second of work to read it to 1%.
pub fn thread_cpu_seconds() -> f64 {
    // A thread's stat file has no children, so cutime and cstime are 0.
    stat_file("/proc/thread-self/stat").map_or(0.0, |s| s.cpu)
}

/// Every live process, with what its stat file says.
fn processes() -> Vec<(u32, Stat)> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|e| {
        let pid = e.ok()?.file_name().to_str()?.parse().ok()?;
        Some((pid, stat(pid)?))
    })
    .collect()
}

/// CPU seconds of `pid` and of all its live descendants: a server that
/// forks helpers is charged for them too.
pub fn tree_cpu_seconds(pid: u32) -> f64 {
    let all = processes();
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(all.iter().filter(|(_, s)| s.ppid == parent).map(|(p, _)| *p));
        i += 1;
    }
    all.iter().filter(|(p, _)| tree.contains(p)).map(|(_, s)| s.cpu).sum()
}

/// The processes called `postgres` (the server and its backends).
fn postgres_processes() -> impl Iterator<Item = (u32, Stat)> {
    processes().into_iter().filter(|(_, s)| s.name == "postgres")
}

/// CPU seconds of every process called `postgres` on the machine (all
/// databases: other users' activity is counted too).
pub fn all_postgres_cpu_seconds() -> f64 {
    postgres_processes().map(|(_, s)| s.cpu).sum()
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
    postgres_processes()
        .filter(|(p, _)| {
            std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(db))
        })
        .map(|(_, s)| s.cpu)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_its_parent_and_its_cpu() {
        let me = std::process::id();
        let s = stat(me).expect("our own stat file");
        assert_eq!(s.ppid, std::os::unix::process::parent_id());
        assert!(!s.name.is_empty());
        // Burn some CPU so that the kernel has ticks to report.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(300) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        assert_ne!(x, 1);
        assert!(own_cpu_seconds() > 0.0);
        let own = cpu_seconds(me);
        assert!(tree_cpu_seconds(me) >= own, "read later, the tree has spent at least as much");
        assert_eq!(cpu_seconds(u32::MAX), 0.0, "a process that does not exist costs nothing");
    }
}
