using Aica.Services;
using Aica.Site;

namespace Aica.Cli;

/// <summary>What a command gets: the global options, its output streams, and a way to build the services.</summary>
public sealed class CliContext(GlobalOptions options, TextWriter stdout, TextWriter stderr, Func<GlobalOptions, AicaServices> services) : IServiceProvider
{
    public GlobalOptions Options { get; } = options;
    public TextWriter Out { get; } = stdout;
    public TextWriter Err { get; } = stderr;

    /// <summary>The services of this run, reporting long work to <see cref="Progress"/>.</summary>
    public AicaServices CreateServices()
    {
        var s = services(Options);
        s.Progress = Progress;
        if (CommandDocs is { } docs)
            s.ManualFiles = Manual.ManualFiles.Files(docs, Manual.ManualFiles.BinaryKey(s.SelfExe)).Where(f => s.Fs.Lstat(f.Requires) is { IsDir: true }).ToList();
        return s;
    }

    /// <summary>Every command's help (for the man page and completions), read the first time it is needed; null for commands that never need it.</summary>
    public Lazy<IReadOnlyList<Manual.CommandDoc>>? CommandDocs { get; set; }

    /// <summary>The progress line on stderr when it is a terminal (see <see cref="TerminalProgress.For"/>), else nothing.</summary>
    public IProgressReporter Progress { get; set; } = NoProgress.Instance;

    /// <summary>Set when the command line of a command did not parse: its usage then goes to stderr.</summary>
    public string? ParseFailedCommand { get; set; }

    public Output Output => _output ??= new Output(Out, Options, Err);
    private Output? _output;

    object? IServiceProvider.GetService(Type serviceType) => serviceType == typeof(CliContext) ? this : null;
}
