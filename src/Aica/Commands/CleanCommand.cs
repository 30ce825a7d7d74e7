using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class CleanCommand(CliContext cli)
{
    private readonly CliContext _cli = cli;

    /// <summary>clean: placeholder until the caches (issue 6) work lands.</summary>
    [Command("clean")]
    public int Run() => throw new AicaException("aica clean: not implemented yet", ExitCodes.Failed);
}
