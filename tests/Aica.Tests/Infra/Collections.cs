namespace Aica.Tests.Infra;

/// <summary>ConsoleAppFramework keeps state in statics: in-process command tests run one at a time.</summary>
[CollectionDefinition("cli", DisableParallelization = true)]
public sealed class CliCollection;

/// <summary>Tests that need root (mounts, accounts); each one skips with a reason elsewhere.</summary>
public static class Require
{
    public static void Root()
    {
        if (!Tools.IsRoot) Assert.Skip("needs root (mounts and shadow-utils)");
    }
}
