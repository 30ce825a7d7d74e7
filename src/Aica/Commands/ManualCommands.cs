using Aica.Cli.Manual;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class ManualCommands(CliContext cli)
{
    private IReadOnlyList<CommandDoc> Docs => cli.CommandDocs ?? throw new AicaException("the command definitions could not be read");

    /// <summary>Print the bash or zsh completion script, generated from the command definitions (init installs both).</summary>
    /// <param name="shell">bash or zsh.</param>
    [Command("completion")]
    public int Completion([Argument] string shell)
    {
        cli.Out.Write(shell switch
        {
            "bash" => Completions.Bash(Docs),
            "zsh" => Completions.Zsh(Docs),
            _ => throw AicaException.Usage($"aica completion: unknown shell '{shell}' (bash or zsh)"),
        });
        return ExitCodes.Ok;
    }

    /// <summary>Print the aica(8) man page (roff), generated from the command definitions (init installs it).</summary>
    [Command("manpage")]
    public int Manpage()
    {
        cli.Out.Write(ManPage.Render(Docs));
        return ExitCodes.Ok;
    }
}
