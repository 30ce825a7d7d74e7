using System.Text.Json;
using Aica.Cli;
using Aica.Tests.Infra;

namespace Aica.Tests.Contracts;

/// <summary>
/// Every command of <see cref="AicaApp.Table"/> takes the global --json, so each one is driven into failure here: its
/// stdout must be exactly one JSON document, {"error": ..., "exit_code": N} with N the process's exit code.
/// </summary>
[Collection("cli")]
[Trait("level", "inproc")]
public sealed class JsonErrorSpecs
{
    public static TheoryData<string> Commands() => [.. AicaApp.Table.Select(c => c.Name)];

    /// <summary>The command line of <paramref name="command"/> with its required argument filled in.</summary>
    private static string[] Line(string command)
    {
        var info = AicaApp.Table.Single(c => c.Name == command);
        return [.. command.Split(' '), .. info.RequiredArgument is null ? Array.Empty<string>() : ["alice"]];
    }

    private static JsonElement OneDocument(string stdout)
    {
        using var doc = JsonDocument.Parse(stdout); // throws on a second document or any trailing text
        Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        return doc.RootElement.Clone();
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void An_unknown_option_gives_one_error_document_with_exit_2(string command)
    {
        var dir = Directory.CreateTempSubdirectory("aica-json-").FullName;
        try
        {
            var (code, stdout, stderr) = Integration.InProcess.Run(["--json", "--root", dir, .. Line(command), "--no-such-option"]);
            Assert.True(code == 2, $"exit {code}\n{stdout}\n{stderr}");
            var doc = OneDocument(stdout);
            Assert.Equal(["error", "exit_code"], doc.EnumerateObject().Select(p => p.Name));
            Assert.Equal(2, doc.GetProperty("exit_code").GetInt32());
            Assert.StartsWith($"aica {command}", doc.GetProperty("error").GetString());
            Assert.Contains(doc.GetProperty("error").GetString()!, stderr); // the same line for a person
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void On_a_server_that_was_never_set_up_each_command_still_prints_one_document(string command)
    {
        Require.Root();
        var dir = Directory.CreateTempSubdirectory("aica-json-").FullName;
        try
        {
            // Nothing mounted, no config, no accounts: most commands refuse; the rest report an empty server.
            Directory.CreateDirectory(Path.Combine(dir, "etc"));
            var (code, stdout, stderr) = Integration.InProcess.Run(["--json", "--root", dir, .. Line(command)]);
            var doc = OneDocument(stdout);
            if (doc.TryGetProperty("error", out var error) && doc.TryGetProperty("exit_code", out var exit))
            {
                Assert.NotEqual(0, code);
                Assert.Equal(code, exit.GetInt32());
                Assert.Contains(error.GetString()!, stderr);
            }
            else Assert.True(code is 0 or 1 or 2, $"exit {code} without an error document:\n{stdout}\n{stderr}");
        }
        finally { Tools.Sh($"rm -rf '{dir}'"); }
    }
}
