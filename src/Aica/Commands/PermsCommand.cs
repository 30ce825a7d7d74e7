using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class PermsCommand(CliContext cli)
{
    private readonly CliContext _cli = cli;

    /// <summary>perms: placeholder until the data (issue 5) work lands.</summary>
    [Command("perms")]
    public int Run([Argument] params string[] paths) => throw new AicaException("aica perms: not implemented yet", ExitCodes.Failed);
}
