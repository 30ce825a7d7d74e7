using System.Diagnostics;
using System.Text;
using Aica.Tests.Infra;

namespace Aica.Tests.Boot;

/// <summary>How a node's root file system survives a reboot.</summary>
public enum RootReset
{
    /// <summary>The root's changes (accounts, /etc) are kept; /home is a fresh tmpfs each boot.</summary>
    Home,
    /// <summary>A fresh root every boot: only the image (the tree, plus the image layer) and /data survive.</summary>
    Full,
}

/// <summary>
/// A node's place on a test network: the network namespace the test made (never the host's), the bridge in it, and the
/// node's address on that bridge (/24).
/// </summary>
public sealed record NodeNetwork(string Namespace, string Bridge, string Address);

/// <summary>
/// One server booted for real: systemd as PID 1 in <c>systemd-nspawn</c> on an overlay of the Debian tree, with a
/// private network (its own loopback; the host's sshd is never reached) and the persistent disk bound on /data.
/// Disposing powers it off (killed if it does not stop in time) and removes every mount and folder.
/// </summary>
public sealed class BootNode : IDisposable
{
    private readonly string _tree;
    private readonly RootReset _reset;
    private readonly string? _imageLayer;
    private readonly string? _sharedData;
    private Running? _running;
    private int _boots;

    public string Dir { get; }
    /// <summary>The persistent disk (host side); bound on /data unless a boot says the disk is missing.</summary>
    public string Data => _sharedData ?? Path.Combine(Dir, "data");
    /// <summary>The machine name; when given to the constructor, also the node's hostname (the tree's /etc/hostname is the build host's).</summary>
    public string Name { get; }
    private readonly bool _ownHostname;
    /// <summary>On a test network (veth on its bridge) instead of a private loopback only; null: private network.</summary>
    public NodeNetwork? Network { get; }
    public string Upper => Path.Combine(Dir, "upper");
    private string Root => Path.Combine(Dir, "root");

    /// <param name="sharedData">A /data folder several nodes bind (a fleet); by default each node has its own.</param>
    public BootNode(string tree, RootReset reset, string? imageLayer = null, string? name = null, string? sharedData = null, NodeNetwork? network = null)
    {
        _tree = tree;
        _reset = reset;
        _imageLayer = imageLayer;
        _sharedData = sharedData;
        Name = name ?? "aica-node";
        _ownHostname = name is not null;
        Network = network;
        Dir = Directory.CreateTempSubdirectory("aica-boot-").FullName;
        foreach (var d in new[] { Data, Root }) Directory.CreateDirectory(d);
    }

    /// <summary>Boots (after the reset this node has) and waits until systemd says the boot finished.</summary>
    public Running Boot(bool diskAttached = true, int timeoutSeconds = 90)
    {
        if (_running is not null) throw new InvalidOperationException("already running");
        _boots++;
        if (_reset == RootReset.Full || _boots == 1)
            Must(Tools.Sh($"rm -rf --one-file-system '{Upper}' '{Dir}/work'; mkdir -p '{Upper}' '{Dir}/work'"));
        if (_ownHostname) Must(Tools.Sh($"mkdir -p '{Upper}/etc' && echo '{Name}' > '{Upper}/etc/hostname'"));
        var lower = _imageLayer is null ? _tree : $"{_imageLayer}:{_tree}";
        Must(Tools.Sh($"mount -t overlay aica-boot -o lowerdir={lower},upperdir='{Upper}',workdir='{Dir}/work' '{Root}'"));
        // read-only: nspawn drains the console as a real one is drained. With passive the console's pty is connected
        // nowhere, and once its buffer is full PID 1 blocks writing boot messages (a cloud-init boot hung that way).
        var args = new List<string>
        {
            "--boot", "--register=no", "--keep-unit", "--console=read-only", $"--machine={Name}", "-D", Root,
        };
        // On a test network, nspawn runs inside the test's namespace, where its host-side veth joins the bridge. nsenter
        // (not `ip netns exec`, which remounts /sys and hides the cgroup tree nspawn needs) switches the network only.
        if (Network is { } net) args.InsertRange(0, [$"--net=/run/netns/{net.Namespace}", "systemd-nspawn", $"--network-bridge={net.Bridge}"]);
        else args.Insert(0, "--private-network");
        if (_reset == RootReset.Home) args.Add("--tmpfs=/home");
        if (diskAttached) args.Add($"--bind={Data}:/data");
        _running = new Running(this, Network is null ? "systemd-nspawn" : "nsenter", args, timeoutSeconds);
        if (Network is { } n)
        {
            // The image has no iproute2: the host's ip, in the node's network namespace only.
            var ip = Tools.Run("nsenter", ["-t", _running.Leader.ToString(), "-n", "/bin/sh", "-c",
                $"ip addr add {n.Address}/24 dev host0 && ip link set host0 up && ip link set lo up"]);
            if (ip.ExitCode != 0) { _running.Dispose(); throw new InvalidOperationException($"cannot address {Name}: {ip}"); }
        }
        return _running;
    }

    private static void Must(RunResult r)
    {
        if (r.ExitCode != 0) throw new InvalidOperationException(r.ToString());
    }

    private void Stopped()
    {
        _running = null;
        Tools.Sh($"umount -R '{Root}' || umount -l '{Root}'");
    }

    public void Dispose()
    {
        try { _running?.Dispose(); }
        finally
        {
            if (Tools.Sh($"mountpoint -q '{Root}'").ExitCode == 0) Tools.Sh($"umount -R '{Root}' || umount -l '{Root}'");
            Tools.Sh($"rm -rf --one-file-system '{Dir}'");
        }
    }

    /// <summary>A booted container, driven with <c>nsenter -t LEADER -a</c> (its systemd's namespaces).</summary>
    public sealed class Running : IDisposable
    {
        private readonly BootNode _node;
        private readonly Process _nspawn;
        private readonly StringBuilder _console = new();
        private bool _stopped;

        public int Leader { get; }
        /// <summary><c>systemctl is-system-running</c> after the boot: running, or degraded when a unit failed.</summary>
        public string State { get; } = "";
        public string FailedUnits => Exec("systemctl --failed --no-legend --plain").StdOut.Trim();
        /// <summary>What systemd-nspawn printed (for failure messages).</summary>
        public string Console { get { lock (_console) return _console.ToString(); } }

        internal Running(BootNode node, string program, List<string> args, int timeoutSeconds)
        {
            _node = node;
            var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
            foreach (var a in args) psi.ArgumentList.Add(a);
            _nspawn = Process.Start(psi)!;
            _nspawn.StandardInput.Close();
            _nspawn.OutputDataReceived += (_, e) => Keep(e.Data);
            _nspawn.ErrorDataReceived += (_, e) => Keep(e.Data);
            _nspawn.BeginOutputReadLine();
            _nspawn.BeginErrorReadLine();
            try
            {
                var deadline = Stopwatch.StartNew();
                Leader = FindLeader(TimeSpan.FromSeconds(30));
                // systemctl inside answers once the container's systemd listens; --wait then blocks until the boot is done.
                string state = "";
                while (true)
                {
                    var left = timeoutSeconds - (int)deadline.Elapsed.TotalSeconds;
                    if (left <= 0)
                    {
                        // What the boot waits for: the jobs still queued and the journal's end.
                        var why = Tools.Run("timeout", ["20", "nsenter", "-t", Leader.ToString(), "-a", "sh", "-c",
                            "systemctl list-jobs --no-pager | head -20; ps -eo pid,ppid,etime,args | grep -v ' \\[' | tail -25; journalctl -b --no-pager | tail -40"], timeoutSeconds: 30);
                        throw new TimeoutException($"the node did not finish booting in {timeoutSeconds}s (state {state})\n{Console}\n{why.StdOut}{why.StdErr}");
                    }
                    var r = Tools.Run("timeout", [left.ToString(), "nsenter", "-t", Leader.ToString(), "-a", "systemctl", "is-system-running", "--wait"], timeoutSeconds: left + 5);
                    state = r.StdOut.Trim();
                    if (state is "running" or "degraded") break;
                    if (_nspawn.HasExited) throw new InvalidOperationException($"systemd-nspawn exited {_nspawn.ExitCode} while booting\n{Console}");
                    if (r.ExitCode == 124) continue;
                    WaitBriefly(); // systemd not yet answering: ask again
                }
                State = state;
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        /// <summary>The console's last 32 KiB, for failure messages.</summary>
        private void Keep(string? line)
        {
            if (line is null) return;
            lock (_console)
            {
                _console.AppendLine(line);
                if (_console.Length > 64 * 1024) _console.Remove(0, _console.Length - 32 * 1024);
            }
        }

        private static void WaitBriefly() => TestContext.Current.CancellationToken.WaitHandle.WaitOne(100);

        /// <summary>The container's PID 1 (systemd) is systemd-nspawn's child; polled with a deadline.</summary>
        private int FindLeader(TimeSpan limit)
        {
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed < limit)
            {
                TestContext.Current.CancellationToken.ThrowIfCancellationRequested();
                if (_nspawn.HasExited) throw new InvalidOperationException($"systemd-nspawn exited {_nspawn.ExitCode}\n{Console}");
                try
                {
                    foreach (var task in Directory.GetDirectories($"/proc/{_nspawn.Id}/task"))
                        foreach (var c in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                            if (File.ReadAllText($"/proc/{c}/comm").Trim() == "systemd") return int.Parse(c);
                }
                catch (IOException) { }
                WaitBriefly();
            }
            throw new TimeoutException($"no systemd under systemd-nspawn after {limit.TotalSeconds}s\n{Console}");
        }

        /// <summary>Runs a bash script as root inside the node (all of its namespaces: its loopback, its mounts, its PIDs).</summary>
        public RunResult Exec(string script, int timeoutSeconds = 120) =>
            Tools.Run("nsenter", ["-t", Leader.ToString(), "-a", "/bin/bash", "-c", script], timeoutSeconds: timeoutSeconds);

        /// <summary><c>systemctl show</c> properties of a unit as a dictionary.</summary>
        public Dictionary<string, string> Show(string unit, params string[] props)
        {
            var r = Exec($"systemctl show {unit} " + string.Join(' ', props.Select(p => $"-p {p}")));
            return r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2))
                .Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1]);
        }

        /// <summary>Powers off and waits (bounded); a node that does not stop is killed. Unmounts its root.</summary>
        public void Dispose()
        {
            if (_stopped) return;
            _stopped = true;
            try
            {
                if (!_nspawn.HasExited && Leader > 0)
                {
                    Tools.Run("nsenter", ["-t", Leader.ToString(), "-a", "systemctl", "poweroff", "--no-block"], timeoutSeconds: 15);
                    if (!_nspawn.WaitForExit(TimeSpan.FromSeconds(30)))
                    {
                        Tools.Sh($"kill -KILL {Leader}");
                        if (!_nspawn.WaitForExit(TimeSpan.FromSeconds(10))) _nspawn.Kill(true);
                    }
                }
                else if (!_nspawn.HasExited) _nspawn.Kill(true);
                _nspawn.WaitForExit(TimeSpan.FromSeconds(10));
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
            {
                try { _nspawn.Kill(true); } catch (InvalidOperationException) { }
            }
            finally
            {
                _nspawn.Dispose();
                _node.Stopped();
            }
        }
    }
}
