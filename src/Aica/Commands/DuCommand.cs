using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class DuCommand(CliContext cli)
{
    private readonly CliContext _cli = cli;

    /// <summary>du: placeholder until the caches (issue 6) work lands.</summary>
    [Command("du")]
    public int Run([Argument] string? path = null) => throw new AicaException("aica du: not implemented yet", ExitCodes.Failed);
}
