namespace Aica;

/// <summary>The documented exit codes (SPEC §7; docs/design.md Part I and docs/monitoring.md list them).</summary>
public static class ExitCodes
{
    public const int Ok = 0, Failed = 1, Usage = 2, Refused = 3, LockBusy = 4, Interrupted = 130;
    /// <summary>
    /// Finished, nothing failed, but someone should look: <c>disk</c> raised an alert (5), <c>doctor --strict</c> found a
    /// WARN (6). Above 4 so cron, systemd <c>OnFailure=</c>, Nagios-style checks and Ansible tell them from failures.
    /// </summary>
    public const int Alert = 5, Warnings = 6;
}

/// <summary>An expected failure: printed as one line, no stack trace, with its exit code.</summary>
public sealed class AicaException(string message, int exitCode = ExitCodes.Failed) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public static AicaException Usage(string message) => new(message, ExitCodes.Usage);
    public static AicaException Refused(string message) => new(message, ExitCodes.Refused);
}
