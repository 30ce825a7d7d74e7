using Aica.Contracts;
using Aica.Cli.Manual;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class ManualCommands(CliContext cli)
{
    private IReadOnlyList<CommandDoc> Docs => (cli.CommandDocs ?? throw new AicaException("the command definitions could not be read")).Value;

    /// <summary>Print the bash or zsh completion script, generated from the command definitions (init installs both).</summary>
    /// <param name="shell">bash or zsh.</param>
    [Command("completion")]
    public int Completion([Argument] string shell)
    {
        Print("completion", shell, shell switch
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
        Print("manpage", "roff", ManPage.Render(Docs));
        return ExitCodes.Ok;
    }

    /// <summary>The text as it is, or (--json) in one document like every other command's output.</summary>
    private void Print(string command, string format, string text)
    {
        if (cli.Options.Json) cli.Output.Json(new GeneratedTextDoc(command, format, text), AicaJsonContext.Default.GeneratedTextDoc);
        else cli.Out.Write(text);
    }
}
