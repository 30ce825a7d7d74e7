// A deliberately broken miniature of Aica.Core's layers: ArchitectureSpecs runs its rules over these namespaces to
// prove each rule fails when broken. Engine <-> Users is a cycle used only inside method bodies; Native uses xunit.
namespace Aica.Tests.ArchFixture.Engine
{
    internal static class Layout
    {
        public static string Describe(string home) => new Users.UserHome(home).ToString();
    }
}

namespace Aica.Tests.ArchFixture.Users
{
    internal sealed record UserHome(string Path)
    {
        public int Depth() => Engine.Layout.Describe(Path).Length;
    }
}

namespace Aica.Tests.ArchFixture.Native
{
    internal static class Libc
    {
        public static void Check(bool ok) => Xunit.Assert.True(ok);
    }
}
