using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class DiskCommand(CliContext cli)
{
    private readonly CliContext _cli = cli;

    /// <summary>disk: placeholder until the caches (issue 6) work lands.</summary>
    [Command("disk")]
    public int Run() => throw new AicaException("aica disk: not implemented yet", ExitCodes.Failed);
}
