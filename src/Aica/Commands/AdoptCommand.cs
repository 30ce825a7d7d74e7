using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class AdoptCommand(CliContext cli)
{
    private readonly CliContext _cli = cli;

    /// <summary>adopt: placeholder until the integ (issue 4) work lands.</summary>
    [Command("adopt")]
    public int Run() => throw new AicaException("aica adopt: not implemented yet", ExitCodes.Failed);
}
