using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class InstallCommands(CliContext cli)
{
    private readonly CliContext _cli = cli;

    /// <summary>install miniconda: placeholder until the integ (issue 4) work lands.</summary>
    [Command("install miniconda")]
    public int Miniconda() => throw new AicaException("aica install miniconda: not implemented yet", ExitCodes.Failed);

    /// <summary>install uv: placeholder until the integ (issue 4) work lands.</summary>
    [Command("install uv")]
    public int Uv() => throw new AicaException("aica install uv: not implemented yet", ExitCodes.Failed);
}
