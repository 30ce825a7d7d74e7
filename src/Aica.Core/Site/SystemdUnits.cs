using System.Text;
using Aica.Config;
using Aica.Engine;

namespace Aica.Site;

/// <summary>
/// How tightly a unit of aica's is sandboxed (docs/scheduling.md, "Hardening"). Every unit runs as root (it manages
/// accounts and other users' files), so the sandbox is what keeps a flaw in it from reaching the rest of the system:
/// the file system read-only except <see cref="Writes"/>, no network unless <see cref="Network"/>, only the
/// capabilities in <see cref="Capabilities"/>, a system-call filter, no kernel tunables, modules, logs, clock or hostname.
/// </summary>
/// <param name="Writes">
/// The only paths the unit may change (ProtectSystem=strict + ReadWritePaths). A leading '-' marks one that may be
/// absent: systemd refuses to start a unit whose ReadWritePaths= names a missing path, and a recovery that does not
/// start locks everyone out, so only what every root has (/etc, /run) and /data (asserted mounted) go without it.
/// </param>
/// <param name="Capabilities">CapabilityBoundingSet: what the unit's work needs of root's powers, nothing else.</param>
/// <param name="Homes">Whether it touches /home (else ProtectHome=yes).</param>
/// <param name="Network">Whether it may reach the network (a notify command or mail); else PrivateNetwork and AF_UNIX only.</param>
/// <param name="RunsAnyProgram">
/// It runs a command the admin configured (notify, mail): such a program may be setuid/setgid (sendmail's postdrop), need
/// writable executable memory or write its spool under /var, so NoNewPrivileges, MemoryDenyWriteExecute, the
/// system-call filter and ProtectSystem=strict are left out (ProtectSystem=full keeps /usr, /boot and /etc read-only).
/// </param>
public sealed record UnitSandbox(IReadOnlyList<string> Writes, IReadOnlyList<string> Capabilities, bool Homes, bool Network = false, bool RunsAnyProgram = false)
{
    /// <summary>What root needs to manage other users' files: ownership, modes (the setgid bit kept), reading and writing through 0700 trees.</summary>
    public static readonly string[] FileCapabilities = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID"];

    /// <summary>
    /// aica recover: accounts and /etc files (useradd, chpasswd -e, pam-auth-update, visudo), homes, /data, its status in
    /// /run/aica, the PATH link, its log in /var/log (and the lastlog/faillog useradd touches). pam-auth-update keeps
    /// its state in /var/lib/pam and asks debconf (/var/cache/debconf); a useradd configured to make mail spools
    /// writes /var/mail.
    /// </summary>
    public static UnitSandbox Recovery(AicaConfig c) => new(
        ["/etc", "/data", "/run", "-/home", "-/usr/local/bin", "-/usr/local/share", "-/usr/share/bash-completion", "/var/lib/aica", "-/var/log", "-" + Templates.PamConfigsDir, "-/var/lib/pam", "-/var/cache/debconf", "-/var/mail", .. Outside(c)],
        FileCapabilities, Homes: true);

    /// <summary>A job that changes files on /data (and the SSD homes of hybrid users when <paramref name="homes"/>).</summary>
    public static UnitSandbox Maintenance(AicaConfig c, bool homes) =>
        new(["/data", "/run", .. homes ? new[] { "-/home" } : [], .. Outside(c)], FileCapabilities, homes);

    /// <summary>A unit that may run the admin's notify command or send mail (docs/scheduling.md).</summary>
    public static UnitSandbox Notifier(AicaConfig c) =>
        new(["/data", "/run", .. Outside(c)], ["CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_SETUID", "CAP_SETGID"], Homes: false, Network: true, RunsAnyProgram: true);

    /// <summary>
    /// The same sandbox with more paths the unit may write (a job that writes outside /data, e.g. node_exporter's
    /// textfile directory: <c>Maintenance(c, homes: false).WithWrites("-" + dir)</c>).
    /// </summary>
    public UnitSandbox WithWrites(params string[] paths) => this with { Writes = [.. Writes, .. paths] };

    /// <summary>Configured folders aica writes that are not below /data (optional: a path that does not exist never stops the unit).</summary>
    private static IEnumerable<string> Outside(AicaConfig c) =>
        new[] { c.BackupDir, Path.GetDirectoryName(c.InstallPath) ?? "/data" }
            .Where(p => p != "/data" && !p.StartsWith("/data/", StringComparison.Ordinal)).Distinct().Select(p => "-" + p);

    /// <summary>The [Service] lines of the sandbox.</summary>
    public string Render()
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Sandbox (docs/scheduling.md): read-only system, writes only where listed, no kernel, clock or hostname changes.");
        if (RunsAnyProgram) sb.AppendLine("ProtectSystem=full");
        else
        {
            sb.AppendLine("ProtectSystem=strict");
            sb.AppendLine("ReadWritePaths=" + string.Join(' ', Writes));
        }
        sb.AppendLine(Homes ? "ProtectHome=no" : "ProtectHome=yes");
        sb.AppendLine("PrivateTmp=yes");
        sb.AppendLine("PrivateDevices=yes");
        sb.AppendLine("ProtectKernelTunables=yes");
        sb.AppendLine("ProtectKernelModules=yes");
        sb.AppendLine("ProtectKernelLogs=yes");
        sb.AppendLine("ProtectControlGroups=yes");
        sb.AppendLine("ProtectClock=yes");
        sb.AppendLine("ProtectHostname=yes");
        sb.AppendLine("ProtectProc=invisible");
        sb.AppendLine("LockPersonality=yes");
        sb.AppendLine("RestrictRealtime=yes");
        sb.AppendLine("RestrictNamespaces=yes");
        sb.AppendLine("SystemCallArchitectures=native");
        sb.AppendLine("CapabilityBoundingSet=" + string.Join(' ', Capabilities));
        if (Network) sb.AppendLine("RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6");
        else
        {
            // Account lookups (getent, NSS) go through local sockets (nss-systemd, sssd, nslcd); aica itself needs no network.
            sb.AppendLine("PrivateNetwork=yes");
            sb.AppendLine("IPAddressDeny=any");
            sb.AppendLine("RestrictAddressFamilies=AF_UNIX");
        }
        if (!RunsAnyProgram)
        {
            // Not RestrictSUIDSGID: the shared directories are setgid (2775, 3775) and recover sets that bit.
            sb.AppendLine("NoNewPrivileges=yes");
            sb.AppendLine("MemoryDenyWriteExecute=yes");
            sb.AppendLine("ProcSubset=pid");
            sb.AppendLine("SystemCallFilter=@system-service");
            sb.AppendLine("SystemCallErrorNumber=EPERM");
        }
        return sb.ToString();
    }
}

/// <summary>Renders aica's systemd units (services, timers): one place, reused by every feature that schedules work.</summary>
public static class SystemdUnits
{
    public const string Dir = "/etc/systemd/system";
    public const string TimersWants = Dir + "/timers.target.wants";
    public const string NotifyTemplate = "aica-notify@.service";
    /// <summary>What a failing job's service starts: <c>aica notify --failed-unit UNIT</c> (systemd's %n is the failed unit).</summary>
    public const string OnFailure = "OnFailure=aica-notify@%n.service";

    /// <summary>The oneshot service of <paramref name="job"/>: runs aica with the job's arguments in its sandbox; started by its timer.</summary>
    public static string JobService(AicaConfig c, ScheduledJob job) => $"""
        # Installed by aica (recover rebuilds it from /data; docs/scheduling.md). Started by {job.Unit}.timer.
        [Unit]
        Description={job.Title}
        Documentation=file://{c.InstallPath}
        RequiresMountsFor=/data
        AssertPathIsMountPoint=/data
        After=aica-recovery.service{(job.NotifyOnFailure ? "\n" + OnFailure : "")}

        [Service]
        Type=oneshot
        ExecStart={c.InstallPath} {job.Args}{(job.AlertExit is { } a ? $"\nSuccessExitStatus={a}" : "")}
        {job.Sandbox.Render()}
        """;

    /// <summary>
    /// The timer of <paramref name="job"/>: at its calendar times, caught up after a boot that missed one (Persistent);
    /// or, for an interval job, that long after the boot and after each run, spread by a tenth (at most 30 s) so the
    /// nodes sharing /data do not all come at once.
    /// </summary>
    public static string Timer(ScheduledJob job) => $"""
        # Installed by aica (recover rebuilds it from /data; docs/scheduling.md). Starts {job.Unit}.service.
        [Unit]
        Description={job.Title}

        [Timer]
        {(job.EverySeconds is { } every
            ? $"OnBootSec={every}s\nOnUnitActiveSec={every}s\nRandomizedDelaySec={Math.Min(30, every / 10)}s\nAccuracySec=1s"
            : $"OnCalendar={job.OnCalendar}\nPersistent=true\nRandomizedDelaySec=60")}

        [Install]
        WantedBy=timers.target

        """;

    /// <summary>The template a failing job's OnFailure starts: %i is the failed unit's name.</summary>
    public static string Notify(AicaConfig c) => $"""
        # Installed by aica (recover rebuilds it from /data; docs/scheduling.md). Started by OnFailure= of aica's jobs.
        [Unit]
        Description=aica notify: report the failed unit %i
        Documentation=file://{c.InstallPath}

        [Service]
        Type=oneshot
        ExecStart={c.InstallPath} notify --failed-unit %i
        {UnitSandbox.Notifier(c).Render()}
        """;
}
