using System.Diagnostics;
using System.Text.RegularExpressions;
using Aica.Tests.Infra;

namespace Aica.Tests.Boot;

/// <summary>
/// issue 11: aica on real boots of a Debian server (systemd as PID 1, real sshd, PAM, cron, systemd --user), driven from
/// outside with nsenter. Each test boots its own node twice or more; the Debian tree is built once per run.
/// </summary>
[Collection("boot")]
[Trait("level", "boot")]
public sealed partial class RealBootSpecs(DebianImage image)
{
    private const string Key = "/data/admin/boot-key";
    private const string Ssh = $"ssh -i {Key} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=10";

    /// <summary>What every session of a member must see (the default aica.toml's caches).</summary>
    private static readonly string[] SharedEnv =
        ["hf=/data/models/huggingface/hub", "torch=/data/models/torch", "conda=/data/cache/conda/pkgs"];

    /// <summary>
    /// First boot of a new server: init, two members (bash and zsh) with a key, a root key for later logins. uids from
    /// 3001: on the cloud-init node, cloud-init's default user and its groups (netdev...) take the next free ids after 2000.
    /// </summary>
    private const string Setup = $"""
        set -eu
        /data/bin/aica init --gid 2000
        [ -f {Key} ] || ssh-keygen -q -t ed25519 -N '' -C aica-boot-test -f {Key}
        /data/bin/aica user add alice --uid 3001 --pubkey-file {Key}.pub
        /data/bin/aica user add zed --uid 3002 --shell /usr/bin/zsh --pubkey-file {Key}.pub
        # zsh runs its new-user menu for a user without a .zshrc; a member who uses zsh has one.
        runuser -u zed -- touch /home/zed/.zshrc
        install -d -m 700 /root/.ssh && install -m 600 {Key} /root/.ssh/boot-key && cat {Key}.pub >> /root/.ssh/authorized_keys
        """;

    /// <summary>
    /// Every kind of session of a member writes what it sees (umask and the shared variables, through a child sh so bash
    /// and zsh print alike) to /tmp/probe.LABEL. The cron job is an @reboot entry: cron runs those when it starts and
    /// /run/crond.reboot is absent, so restarting cron starts the job through cron's own PAM session now, without
    /// waiting for a minute boundary.
    /// </summary>
    private const string Sessions = $$"""
        set -u
        cat > /run/aica-probe <<'PROBE'
        #!/bin/sh
        echo "umask=$(umask) hf=${HF_HUB_CACHE-} torch=${TORCH_HOME-} conda=${CONDA_PKGS_DIRS-} aica=$(command -v aica)" > /tmp/probe.$1
        PROBE
        chmod 755 /run/aica-probe
        rm -f /tmp/probe.*
        {{Ssh}} alice@127.0.0.1 '/run/aica-probe ssh-command' || echo "ssh-command failed: $?"
        printf '/run/aica-probe ssh-login\nexit\n' | timeout 30 {{Ssh}} -tt alice@127.0.0.1 >/dev/null 2>&1 || echo "ssh-login failed: $?"
        {{Ssh}} zed@127.0.0.1 '/run/aica-probe zsh-command' || echo "zsh-command failed: $?"
        printf '/run/aica-probe zsh-login\nexit\n' | timeout 30 {{Ssh}} -tt zed@127.0.0.1 >/dev/null 2>&1 || echo "zsh-login failed: $?"
        su - alice -c '/run/aica-probe su-login'
        su alice -c '/run/aica-probe su'
        su - zed -c '/run/aica-probe su-zsh-login'
        sudo -iu alice /run/aica-probe sudo-login
        # aica on a member's PATH through sudo too: secure_path has /usr/local/bin, and sudoers matches the link's target.
        su - alice -c 'sudo -n aica disk' > /dev/null && echo "member-sudo: ok"
        echo '@reboot alice /run/aica-probe cron' > /etc/cron.d/aica-boot-probe
        rm -f /run/crond.reboot && systemctl restart cron
        timeout 30 sh -c 'until [ -s /tmp/probe.cron ]; do sleep 0.1; done' || echo "cron job did not run"
        rm -f /etc/cron.d/aica-boot-probe
        loginctl enable-linger alice
        timeout 30 sh -c 'until systemctl is-active -q user@3001.service; do sleep 0.1; done' || echo "no user manager for alice"
        mkdir -p /etc/systemd/user
        printf '[Service]\nType=oneshot\nExecStart=/run/aica-probe user-service\n' > /etc/systemd/user/aica-probe.service
        runuser -u alice -- env XDG_RUNTIME_DIR=/run/user/3001 systemctl --user daemon-reload
        runuser -u alice -- env XDG_RUNTIME_DIR=/run/user/3001 timeout 30 systemctl --user start aica-probe.service || echo "user service failed"
        loginctl disable-linger alice
        echo "root-path: $(bash -lc 'command -v aica')"
        for f in /tmp/probe.*; do echo "${f#/tmp/probe.}: $(cat "$f")"; done
        /data/bin/aica doctor > /tmp/doctor.out 2>&1; echo "doctor-rc: $?"
        grep -E '^\[(FAIL|WARN)\]' /tmp/doctor.out | sed 's/^/doctor-problem: /'
        """;

    /// <summary>
    /// A password, a system group, a lab group with its gid and a GECOS change, made by hand as admins do, on a node
    /// whose recovery failed (a bad registry line: exit 1). Only aica-capture.service's ExecStop at the poweroff can
    /// keep them (the hourly capture timer is stopped so it cannot); it must run whatever recovery's result was.
    /// </summary>
    private const string AccountChanges = """
        set -eu
        echo 'not a registry line!' >> /data/config/users.txt
        systemctl restart aica-recovery.service && exit 21
        echo "recovery: $(systemctl show -p Result --value aica-recovery.service) $(systemctl show -p ExecMainStatus --value aica-recovery.service)"
        echo "capture-unit: $(systemctl is-active aica-capture.service)"
        systemctl stop aica-accounts-capture.timer
        echo 'alice:Boot-pw-7f3a' | chpasswd
        groupadd -g 2600 labadmins
        usermod -aG video,labadmins alice
        chfn -f 'Alice Lab' alice
        getent shadow alice | cut -d: -f2 > /data/admin/boot-alice-hash
        """;

    /// <summary>After a full reset: the same hash (the same password works), the groups with their gid, the GECOS.</summary>
    private static void AssertAccountChangesKept(BootNode.Running node)
    {
        var r = node.Exec("""
            echo "hash-same: $( [ "$(getent shadow alice | cut -d: -f2)" = "$(cat /data/admin/boot-alice-hash)" ] && echo yes || echo no)"
            echo "groups: $(id -nG alice)"
            echo "lab: $(getent group labadmins)"
            echo "gecos: $(getent passwd alice | cut -d: -f5)"
            """, 60);
        Log($"--- account state after the reset\n{r.All}");
        Assert.Contains("hash-same: yes", r.StdOut);
        Assert.Matches(@"groups: .*\bvideo\b", r.StdOut);
        Assert.Matches(@"groups: .*\blabadmins\b", r.StdOut);
        Assert.Matches(@"lab: labadmins:x:2600:.*\balice\b", r.StdOut);
        Assert.Contains("gecos: Alice Lab", r.StdOut);
    }

    private static readonly string[] Timers = ["aica-clean.timer", "aica-disk.timer", "aica-accounts-capture.timer"];

    /// <summary>
    /// The scheduler that is active: systemd timers enabled and running, no cron file; a job run now (as its timer
    /// would) succeeds inside its sandbox; the exposure scores of the sandboxed units (systemd-analyze security).
    /// </summary>
    private const string Scheduling = """
        set -u
        for t in aica-clean.timer aica-disk.timer aica-accounts-capture.timer aica-capture.service; do
          echo "unit $t: $(systemctl is-enabled $t) $(systemctl is-active $t)"
        done
        if [ -e /etc/cron.d/aica ]; then echo "cron-file: present"; else echo "cron-file: absent"; fi
        systemctl start aica-accounts-capture.service; echo "capture-job-rc: $?"
        systemctl start aica-clean.service; echo "clean-job-rc: $?"
        for u in aica-recovery.service aica-capture.service aica-clean.service aica-accounts-capture.service aica-disk.service; do
          systemd-analyze security --no-pager $u | tail -n 1
        done
        # The account tools recover falls back to (useradd, chpasswd through PAM, userdel) inside recovery's own sandbox.
        mapfile -t lines < <(sed -n '/^# Sandbox/,/^$/p' /etc/systemd/system/aica-recovery.service | grep -v '^#' | grep .)
        props=(); for l in "${lines[@]}"; do props+=(-p "$l"); done
        systemd-run --wait --pipe --quiet "${props[@]}" sh -c 'useradd -M -u 3999 sbx && echo sbx:Sbx-pw-1 | chpasswd && passwd -S sbx | cut -d" " -f2 && userdel sbx'
        echo "sandboxed-accounts-rc: $?"
        """;

    /// <summary>
    /// A job that fails (clean refuses a config with an unknown key: exit 2) starts aica-notify@ with the failed unit's
    /// name through OnFailure=. The config is put back afterwards.
    /// </summary>
    private const string FailingJob = """
        set -u
        cp -p /data/config/aica.toml /run/aica.toml.good
        printf '\nno_such_key = 1\n' >> /data/config/aica.toml
        systemctl start aica-clean.service; echo "clean-job-rc: $?"
        n=aica-notify@aica-clean.service.service
        timeout 30 sh -c "until [ \"\$(systemctl show -p ExecMainStartTimestampMonotonic --value $n)\" != 0 ]; do sleep 0.1; done"
        echo "notify: $(systemctl show -p ExecMainStartTimestampMonotonic --value $n) $(systemctl show -p ExecStart --value $n | grep -o 'argv\[\][^;]*')"
        cp -p /run/aica.toml.good /data/config/aica.toml
        """;

    /// <summary>The exposure levels systemd-analyze gave, by unit.</summary>
    private static Dictionary<string, double> Exposure(string output) =>
        ExposureLine().Matches(output).ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));

    [GeneratedRegex(@"Overall exposure level for (\S+): ([0-9.]+)")]
    private static partial Regex ExposureLine();

    /// <summary>aica-recovery.service was 9.6 (UNSAFE) without a sandbox; 1.8 with it (docs/scheduling.md).</summary>
    private const double MaxRecoveryExposure = 2.0;

    private static void AssertTimersScheduleTheJobs(BootNode.Running node, string what)
    {
        var o = Run(node, Scheduling, what);
        foreach (var t in Timers) Assert.Contains($"unit {t}: enabled active", o);
        Assert.Contains("unit aica-capture.service: enabled active", o);
        Assert.Contains("cron-file: absent", o); // never both schedulers
        Assert.Contains("capture-job-rc: 0", o);
        Assert.Contains("clean-job-rc: 0", o);
        Assert.Contains("sandboxed-accounts-rc: 0", o);
        Assert.Matches(@"(?m)^P$", o); // the password set inside the sandbox
        var exposure = Exposure(o);
        Log("exposure: " + string.Join(", ", exposure.Select(kv => $"{kv.Key} {kv.Value}")));
        Assert.True(exposure.TryGetValue("aica-recovery.service", out var recovery), o);
        Assert.True(recovery <= MaxRecoveryExposure, $"aica-recovery.service exposure {recovery}");
        foreach (var (unit, level) in exposure) Assert.True(level <= 4.5, $"{unit} exposure {level}");
    }

    private static readonly string[] SessionLabels =
        ["ssh-command", "ssh-login", "zsh-command", "zsh-login", "su-login", "su", "su-zsh-login", "sudo-login", "cron", "user-service"];

    internal static void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);

    /// <summary>Runs a script in the node, logs its output, asserts it succeeded (the fleet tests use it too).</summary>
    internal static string Run(BootNode.Running node, string script, string what)
    {
        var r = node.Exec(script, 240);
        Log($"--- {what}\n{r.All}");
        Assert.True(r.ExitCode == 0, $"{what} failed: {r}");
        return r.StdOut;
    }

    private static void InstallBinary(BootNode node) =>
        Assert.Equal(0, Tools.Sh($"install -D -m 755 '{Tools.AicaBin}' '{node.Data}/bin/aica'").ExitCode);

    /// <summary>The unit ran, succeeded, and finished before systemd-user-sessions let anyone log in.</summary>
    private static void AssertRecoveredBeforeLogins(BootNode.Running node)
    {
        var unit = node.Show("aica-recovery.service", "Result", "ExecMainStatus", "ExecMainExitTimestampMonotonic", "ActiveState");
        var sessions = node.Show("systemd-user-sessions.service", "ActiveEnterTimestampMonotonic");
        var cron = node.Show("cron.service", "ExecMainStartTimestampMonotonic");
        Log($"unit: {string.Join(' ', unit)}; user-sessions: {string.Join(' ', sessions)}; state {node.State}");
        if (unit["Result"] != "success" || node.State != "running")
            Assert.Fail($"unit {unit["Result"]}, boot state {node.State}: failed units {node.FailedUnits}\n" +
                node.Exec("journalctl -b --no-pager -o cat -u aica-recovery.service | tail -n 40").All);
        Assert.Equal("0", unit["ExecMainStatus"]);
        Assert.Equal("active", unit["ActiveState"]);
        var done = long.Parse(unit["ExecMainExitTimestampMonotonic"]);
        var logins = long.Parse(sessions["ActiveEnterTimestampMonotonic"]);
        Assert.True(done > 0 && done <= logins, $"recovery finished at {done}, logins allowed at {logins}");
        var cronStart = long.Parse(cron["ExecMainStartTimestampMonotonic"]);
        Assert.True(done <= cronStart, $"recovery finished at {done}, cron started at {cronStart}");
    }

    private static void AssertEverySessionShared(string output)
    {
        var seen = ProbeLine().Matches(output).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        Assert.DoesNotContain("failed", output.Split('\n').Where(l => !l.StartsWith("doctor", StringComparison.Ordinal)).Aggregate("", (a, l) => a + l + "\n"));
        foreach (var label in SessionLabels)
        {
            Assert.True(seen.TryGetValue(label, out var got), $"no {label} session ran:\n{output}");
            Assert.True(got.Contains("umask=0002"), $"{label}: {got}");
            foreach (var v in SharedEnv) Assert.True(got.Contains(v), $"{label} lacks {v}: {got}");
        }
        // aica on the PATH of root and of members' login sessions (a link in /usr/local/bin).
        Assert.Contains("root-path: /usr/local/bin/aica", output);
        Assert.Contains("aica=/usr/local/bin/aica", seen["ssh-login"]);
        Assert.Contains("aica=/usr/local/bin/aica", seen["su-login"]);
        Assert.Contains("member-sudo: ok", output);
        Assert.Contains("doctor-rc: 0", output);
        Assert.DoesNotContain("doctor-problem: [FAIL]", output);
    }

    [GeneratedRegex(@"^([a-z-]+): (umask=.*)$", RegexOptions.Multiline)]
    private static partial Regex ProbeLine();

    [Fact]
    public void Home_reset_recovers_before_logins_and_every_session_gets_the_umask_and_variables()
    {
        DebianImage.RequireBootable();
        var sw = Stopwatch.StartNew();
        using var node = new BootNode(image.Tree, RootReset.Home);
        Log($"image ready after {sw.Elapsed.TotalSeconds:F1}s");
        InstallBinary(node);
        using (var first = node.Boot())
            Run(first, Setup, "setup");
        using (var second = node.Boot())
        {
            AssertRecoveredBeforeLogins(second);
            AssertEverySessionShared(Run(second, Sessions, "sessions after a home reset"));
            AssertTimersScheduleTheJobs(second, "timers after a home reset");
            var failing = Run(second, FailingJob, "a failing job");
            Assert.Contains("clean-job-rc: 1", failing); // systemctl start reports the job's failure
            Assert.Matches(@"notify: [1-9][0-9]* argv\[\]=/data/bin/aica notify --failed-unit aica-clean\.service", failing);
        }
        Log($"home reset: {sw.Elapsed.TotalSeconds:F1}s");
    }

    [Fact]
    public void Full_reset_with_the_unit_baked_into_the_image_recovers_accounts_and_sessions()
    {
        DebianImage.RequireBootable();
        var sw = Stopwatch.StartNew();
        var tree = image.Tree;
        var layer = Directory.CreateTempSubdirectory("aica-image-layer-").FullName;
        try
        {
            using var node = NodeWithBakedUnit(tree, layer);
            Assert.Equal("/etc/systemd/system/aica-recovery.service",
                new FileInfo(Path.Combine(layer, "etc/systemd/system/multi-user.target.wants/aica-recovery.service")).LinkTarget);
            InstallBinary(node);
            using (var first = node.Boot())
            {
                Run(first, Setup, "setup");
                // What an admin does by hand after user add: nothing of it is an aica write, so only aica-capture's
                // ExecStop at this poweroff captures it onto /data before the reset, although recovery failed.
                var changes = Run(first, AccountChanges, "account changes");
                Assert.Contains("recovery: exit-code 1", changes);
                Assert.Contains("capture-unit: active", changes);
            }
            // The admin fixes the registry (on the persistent disk) before the next boot.
            Assert.Equal(0, Tools.Sh($"sed -i '/^not a registry line/d' '{node.Data}/config/users.txt'").ExitCode);
            using (var second = node.Boot())
            {
                // A fresh root: the accounts, homes and /etc files all come from /data through the baked unit.
                Assert.Contains("alice:x:3001:3001", second.Exec("getent passwd alice").StdOut);
                AssertAccountChangesKept(second);
                AssertRecoveredBeforeLogins(second);
                AssertEverySessionShared(Run(second, Sessions, "sessions after a full reset"));
                // The image carries only the boot units: recover wrote the timers and started them.
                AssertTimersScheduleTheJobs(second, "timers after a full reset");
            }
        }
        finally
        {
            Tools.Sh($"rm -rf --one-file-system '{layer}'");
        }
        Log($"full reset: {sw.Elapsed.TotalSeconds:F1}s");
    }

    /// <summary>A full-reset node whose image layer has the unit and its enable link, as an admin bakes them: <c>aica init --image</c>.</summary>
    private static BootNode NodeWithBakedUnit(string tree, string layer)
    {
        var node = new BootNode(tree, RootReset.Full, layer);
        Directory.CreateDirectory(Path.Combine(layer, "etc"));
        Directory.CreateDirectory(Path.Combine(layer, "usr"));
        var img = Tools.Run(Tools.AicaBin, ["--root", node.Dir, "init", "--image", layer]);
        if (img.ExitCode != 0) node.Dispose();
        Assert.True(img.ExitCode == 0, img.ToString());
        return node;
    }

    /// <summary>The admin guide's cloud-init recipe, exactly as documented (the yaml block after "#cloud-config").</summary>
    private static string ReadmeCloudConfig()
    {
        var readme = File.ReadAllText(Path.Combine(Tools.RepoRoot, "docs", "admin-guide.md"));
        var start = readme.IndexOf("```yaml\n#cloud-config\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/admin-guide.md has no #cloud-config recipe");
        start += "```yaml\n".Length;
        return readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
    }

    [Fact]
    public void Full_reset_with_the_readme_cloud_init_recipe_recovers_before_logins()
    {
        DebianImage.RequireBootable();
        var sw = Stopwatch.StartNew();
        var tree = image.Tree;
        // The image has cloud-init and a NoCloud seed holding the README's user-data, but no aica unit.
        var layer = Directory.CreateTempSubdirectory("aica-cloud-layer-").FullName;
        try
        {
            var seed = Path.Combine(layer, "var/lib/cloud/seed/nocloud");
            Directory.CreateDirectory(seed);
            File.WriteAllText(Path.Combine(seed, "meta-data"), "instance-id: aica-node\nlocal-hostname: aica-node\n");
            File.WriteAllText(Path.Combine(seed, "user-data"), ReadmeCloudConfig());
            Directory.CreateDirectory(Path.Combine(layer, "etc/cloud/cloud.cfg.d"));
            // The test node only: no network to configure (a private loopback), and no locale to generate (minbase has none).
            File.WriteAllText(Path.Combine(layer, "etc/cloud/cloud.cfg.d/99-aica-boot-test.cfg"),
                "datasource_list: [ NoCloud, None ]\nnetwork: {config: disabled}\nlocale: C.UTF-8\n");
            using var node = new BootNode(tree, RootReset.Full, layer);
            InstallBinary(node);
            using (var first = node.Boot(timeoutSeconds: 120))
                Run(first, Setup, "setup");
            using (var second = node.Boot(timeoutSeconds: 120))
            {
                Assert.Contains("alice:x:3001:3001", second.Exec("getent passwd alice").StdOut);
                var ci = second.Show("cloud-init.service", "Result", "ActiveEnterTimestampMonotonic");
                var logins = second.Show("systemd-user-sessions.service", "ActiveEnterTimestampMonotonic");
                var status = second.Exec("cloud-init status --long; grep -E '^recovered|FAIL' /var/log/cloud-init-output.log");
                Log($"cloud-init: {string.Join(' ', ci)}; user-sessions: {string.Join(' ', logins)}; state {second.State}\n{status.All}");
                Assert.True(second.State == "running", $"boot state {second.State}: failed units {second.FailedUnits}");
                Assert.Equal("success", ci["Result"]);
                // bootcmd runs in cloud-init.service, which systemd starts and finishes before user sessions.
                Assert.True(long.Parse(ci["ActiveEnterTimestampMonotonic"]) <= long.Parse(logins["ActiveEnterTimestampMonotonic"]));
                Assert.Contains("recovered 2 users, 0 failed", status.StdOut);
                AssertEverySessionShared(Run(second, Sessions, "sessions after a full reset (cloud-init)"));
            }
        }
        finally
        {
            Tools.Sh($"rm -rf --one-file-system '{layer}'");
        }
        Log($"full reset through cloud-init: {sw.Elapsed.TotalSeconds:F1}s");
    }

    /// <summary>
    /// 1000 members registered while the node was off (by another node sharing /data): the next full-reset boot creates
    /// their accounts and homes before anyone can log in, and the journal keeps recover's whole output (11,000 lines,
    /// more than journald's base rate limit of 10,000 per 30 s, which it scales up with free disk space).
    /// </summary>
    [Fact]
    public void A_thousand_members_registered_while_off_are_created_at_the_next_full_reset_before_logins()
    {
        DebianImage.RequireBootable();
        var sw = Stopwatch.StartNew();
        var layer = Directory.CreateTempSubdirectory("aica-image-layer-").FullName;
        try
        {
            using var node = NodeWithBakedUnit(image.Tree, layer);
            InstallBinary(node);
            using (var first = node.Boot())
                Run(first, Setup, "setup");
            // 1000 more members registered while the node was off (as another node sharing /data would).
            File.AppendAllLines(Path.Combine(node.Data, "config", "users.txt"),
                Enumerable.Range(0, 1000).Select(i => $"m{i:D4}:gpu-users:{4000 + i}:{4000 + i}:/bin/bash:symlink"));
            using var second = node.Boot(timeoutSeconds: 180);
            AssertRecoveredBeforeLogins(second);
            var unit = second.Show("aica-recovery.service", "ExecMainStartTimestampMonotonic", "ExecMainExitTimestampMonotonic");
            var journal = second.Exec("""
                journalctl -b -o cat --no-pager -u aica-recovery.service > /run/recovery.out
                echo "lines: $(grep -c '' /run/recovery.out)"; echo "done-lines: $(grep -c '^\[DONE\]' /run/recovery.out)"
                tail -n 1 /run/recovery.out
                echo "changes: $(sed -n 's/.*"changes": *\([0-9]*\).*/\1/p' /run/aica/recovery.json)"
                journalctl -b -o cat --no-pager -u systemd-journald.service | grep -i suppressed || echo "suppressed: none"
                getent passwd m0999; ls -ld /data/users/m0999
                """);
            var ms = (long.Parse(unit["ExecMainExitTimestampMonotonic"]) - long.Parse(unit["ExecMainStartTimestampMonotonic"])) / 1000;
            Log($"recovery of 1002 users after a full reset: {ms} ms in the unit\n{journal.All}");
            Assert.Contains("suppressed: none", journal.StdOut);
            Assert.Contains("recovered 1002 users, 0 failed", journal.StdOut);
            Assert.Contains("m0999:x:4999:4999:", journal.StdOut);
            var done = int.Parse(Regex.Match(journal.StdOut, @"done-lines: (\d+)").Groups[1].Value);
            var changes = int.Parse(Regex.Match(journal.StdOut, @"changes: (\d+)").Groups[1].Value);
            Assert.True(done > 10_000, $"only {done} [DONE] lines for 1000 new members");
            Assert.Equal(changes, done); // every change recover made is in the journal
        }
        finally
        {
            Tools.Sh($"rm -rf --one-file-system '{layer}'");
        }
        Log($"a thousand members after a full reset: {sw.Elapsed.TotalSeconds:F1}s");
    }

    [Fact]
    public void Disk_missing_the_unit_refuses_logins_still_work_and_nothing_lands_on_the_ssd()
    {
        DebianImage.RequireBootable();
        var sw = Stopwatch.StartNew();
        using var node = new BootNode(image.Tree, RootReset.Home);
        InstallBinary(node);
        using (var first = node.Boot())
            Run(first, Setup, "setup");
        using (var second = node.Boot(diskAttached: false))
        {
            var unit = second.Show("aica-recovery.service", "AssertResult", "ExecMainStartTimestampMonotonic", "ActiveState");
            var sessions = second.Show("systemd-user-sessions.service", "ActiveState");
            Log($"unit: {string.Join(' ', unit)}; state {second.State}");
            Assert.Equal("no", unit["AssertResult"]);
            Assert.Equal("0", unit["ExecMainStartTimestampMonotonic"]); // aica never ran
            Assert.Equal("active", sessions["ActiveState"]);
            var r = second.Exec("""
                test ! -e /run/nologin && echo no-nologin
                ssh -i /root/.ssh/boot-key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes root@127.0.0.1 'echo login-ok'
                echo "data-entries: $(find /data -mindepth 1 | wc -l)"
                """);
            Log(r.All);
            Assert.Contains("no-nologin", r.StdOut);
            Assert.Contains("login-ok", r.StdOut);
            Assert.Contains("data-entries: 0", r.StdOut);
        }
        // Nothing written to the SSD's /data (the root's upper layer) either.
        var upperData = Path.Combine(node.Upper, "data");
        Assert.True(!Directory.Exists(upperData) || Directory.GetFileSystemEntries(upperData).Length == 0, "the SSD's /data has files");
        Log($"disk missing: {sw.Elapsed.TotalSeconds:F1}s");
    }
}
