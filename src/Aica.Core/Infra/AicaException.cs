namespace Aica;

/// <summary>The documented exit codes (SPEC §7).</summary>
public static class ExitCodes
{
    public const int Ok = 0, Failed = 1, Usage = 2, Refused = 3, LockBusy = 4, Interrupted = 130;
}

/// <summary>An expected failure: printed as one line, no stack trace, with its exit code.</summary>
public sealed class AicaException(string message, int exitCode = ExitCodes.Failed) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public static AicaException Usage(string message) => new(message, ExitCodes.Usage);
    public static AicaException Refused(string message) => new(message, ExitCodes.Refused);
}
