using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class EnvCommand(CliContext cli)
{
    private readonly CliContext _cli = cli;

    /// <summary>env: placeholder until the integ (issue 4) work lands.</summary>
    [Command("env")]
    public int Run() => throw new AicaException("aica env: not implemented yet", ExitCodes.Failed);
}
