using Aica.Native;
using ConsoleAppFramework;

namespace Aica.Cli;

/// <summary>
/// Expected failures become one line on stderr and their exit code; parse errors are exit 2 with usage. With --json
/// every failure also writes the one JSON document of the run to stdout: {"error": "...", "exit_code": N}.
/// </summary>
internal sealed class ErrorFilter(ConsoleAppFilter next) : ConsoleAppFilter(next)
{
    public override async Task InvokeAsync(ConsoleAppContext context, CancellationToken cancellationToken)
    {
        var cli = (CliContext)((IServiceProvider)ConsoleApp.ServiceProvider!).GetService(typeof(CliContext))!;
        try
        {
            await Next.InvokeAsync(context, cancellationToken);
        }
        catch (AicaException e)
        {
            Fail(cli, $"aica {context.CommandName}: {e.Message}", e.ExitCode);
        }
        catch (ArgumentParseFailedException e)
        {
            Fail(cli, $"aica {context.CommandName}: {e.Message}", ExitCodes.Usage);
            cli.ParseFailedCommand = context.CommandName;
        }
        catch (SysException e)
        {
            Fail(cli, $"aica {context.CommandName}: {e.Message}", ExitCodes.Failed);
        }
        catch (OperationCanceledException)
        {
            Fail(cli, $"aica {context.CommandName}: interrupted", ExitCodes.Interrupted);
            // The framework's token is cancelled only by SIGINT/SIGTERM/SIGQUIT. Returning would let it dispose its
            // signal handler while the runtime's signal thread still calls CancelAfter on it: an unhandled
            // ObjectDisposedException, exit 134, about one run in five. Exiting here leaves nothing disposed.
            if (cancellationToken.IsCancellationRequested)
            {
                cli.Out.Flush();
                cli.Err.Flush();
                Environment.Exit(ExitCodes.Interrupted);
            }
        }
        catch (Exception e) when (e is not ArgumentParseFailedException)
        {
            // A defect, not an expected failure: still one line (and with --json one document); the trace with -v.
            Fail(cli, $"aica {context.CommandName}: internal error: {e.Message}", ExitCodes.Failed);
            if (cli.Options.Verbose) cli.Err.WriteLine(e.ToString());
        }
    }

    private static void Fail(CliContext cli, string message, int exitCode)
    {
        if (cli.Options.Json) AicaApp.WriteJsonError(cli.Out, message, exitCode);
        cli.Err.WriteLine(message);
        Environment.ExitCode = exitCode;
    }
}
