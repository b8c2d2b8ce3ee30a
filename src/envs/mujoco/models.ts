/**
 * MJCF models of the MuJoCo v5 envs, written for refinery from the published model
 * parameters of Gymnasium's assets (the same bodies, joints, masses/densities, frictions,
 * solver settings, gears, control ranges, timesteps and integrators). Visual-only parts
 * (textures, materials, lights, cameras) are left out; colours are kept for rendering.
 * Angles are in degrees unless a model says `angle="radian"`.
 */

/** InvertedPendulum: a cart on a ±1 m rail with a 0.6 m pole; RK4, 0.02 s; force gear 100, ctrl ±3. */
export const INVERTED_PENDULUM_XML = `<mujoco model="inverted_pendulum">
  <compiler inertiafromgeom="true"/>
  <default>
    <joint armature="0" damping="1" limited="true"/>
    <geom contype="0" friction="1 0.1 0.1" rgba="0.7 0.7 0 1"/>
  </default>
  <option gravity="0 0 -9.81" integrator="RK4" timestep="0.02"/>
  <worldbody>
    <geom name="rail" type="capsule" pos="0 0 0" quat="0.707 0 0.707 0" size="0.02 1" rgba="0.3 0.3 0.7 1"/>
    <body name="cart" pos="0 0 0">
      <joint name="slider" type="slide" axis="1 0 0" pos="0 0 0" limited="true" range="-1 1"/>
      <geom name="cart" type="capsule" pos="0 0 0" quat="0.707 0 0.707 0" size="0.1 0.1"/>
      <body name="pole" pos="0 0 0">
        <joint name="hinge" type="hinge" axis="0 1 0" pos="0 0 0" range="-90 90"/>
        <geom name="cpole" type="capsule" fromto="0 0 0 0.001 0 0.6" size="0.049 0.3" rgba="0 0.7 0.7 1"/>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor name="slide" joint="slider" gear="100" ctrllimited="true" ctrlrange="-3 3"/>
  </actuator>
</mujoco>`;

/** InvertedDoublePendulum: cart + two 0.6 m links, tip site; RK4, 0.01 s; gear 500, ctrl ±1. */
export const INVERTED_DOUBLE_PENDULUM_XML = `<mujoco model="inverted_double_pendulum">
  <compiler inertiafromgeom="true"/>
  <default>
    <joint damping="0.05"/>
    <geom contype="0" friction="1 0.1 0.1" rgba="0.7 0.7 0 1"/>
  </default>
  <option gravity="1e-5 0 -9.81" integrator="RK4" timestep="0.01"/>
  <worldbody>
    <geom name="floor" type="plane" pos="0 0 -3.0" size="40 40 40" rgba="0.8 0.9 0.8 1"/>
    <geom name="rail" type="capsule" pos="0 0 0" quat="0.707 0 0.707 0" size="0.02 1" rgba="0.3 0.3 0.7 1"/>
    <body name="cart" pos="0 0 0">
      <joint name="slider" type="slide" axis="1 0 0" pos="0 0 0" limited="true" margin="0.01" range="-1 1"/>
      <geom name="cart" type="capsule" pos="0 0 0" quat="0.707 0 0.707 0" size="0.1 0.1"/>
      <body name="pole" pos="0 0 0">
        <joint name="hinge" type="hinge" axis="0 1 0" pos="0 0 0"/>
        <geom name="cpole" type="capsule" fromto="0 0 0 0 0 0.6" size="0.045 0.3" rgba="0 0.7 0.7 1"/>
        <body name="pole2" pos="0 0 0.6">
          <joint name="hinge2" type="hinge" axis="0 1 0" pos="0 0 0"/>
          <geom name="cpole2" type="capsule" fromto="0 0 0 0 0 0.6" size="0.045 0.3" rgba="0 0.7 0.7 1"/>
          <site name="tip" pos="0 0 0.6" size="0.01 0.01"/>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor name="slide" joint="slider" gear="500" ctrllimited="true" ctrlrange="-1 1"/>
  </actuator>
</mujoco>`;

/** HalfCheetah: planar 9-dof runner, total mass 14, joint springs; Euler, 0.01 s; gears 120/90/60/120/60/30. */
export const HALF_CHEETAH_XML = `<mujoco model="half_cheetah">
  <compiler angle="radian" inertiafromgeom="true" settotalmass="14"/>
  <default>
    <joint armature=".1" damping=".01" limited="true" solimplimit="0 .8 .03" solreflimit=".02 1" stiffness="8"/>
    <geom conaffinity="0" condim="3" contype="1" friction=".4 .1 .1" rgba="0.8 0.6 .4 1" solimp="0.0 0.8 0.01" solref="0.02 1"/>
    <motor ctrllimited="true" ctrlrange="-1 1"/>
  </default>
  <option gravity="0 0 -9.81" timestep="0.01"/>
  <worldbody>
    <geom name="floor" type="plane" conaffinity="1" condim="3" pos="0 0 0" size="40 40 40" rgba="0.8 0.9 0.8 1"/>
    <body name="torso" pos="0 0 .7">
      <joint name="rootx" type="slide" axis="1 0 0" pos="0 0 0" armature="0" damping="0" limited="false" stiffness="0"/>
      <joint name="rootz" type="slide" axis="0 0 1" pos="0 0 0" armature="0" damping="0" limited="false" stiffness="0"/>
      <joint name="rooty" type="hinge" axis="0 1 0" pos="0 0 0" armature="0" damping="0" limited="false" stiffness="0"/>
      <geom name="torso" type="capsule" fromto="-.5 0 0 .5 0 0" size="0.046"/>
      <geom name="head" type="capsule" axisangle="0 1 0 .87" pos=".6 0 .1" size="0.046 .15"/>
      <body name="bthigh" pos="-.5 0 0">
        <joint name="bthigh" type="hinge" axis="0 1 0" pos="0 0 0" damping="6" range="-.52 1.05" stiffness="240"/>
        <geom name="bthigh" type="capsule" axisangle="0 1 0 -3.8" pos=".1 0 -.13" size="0.046 .145"/>
        <body name="bshin" pos=".16 0 -.25">
          <joint name="bshin" type="hinge" axis="0 1 0" pos="0 0 0" damping="4.5" range="-.785 .785" stiffness="180"/>
          <geom name="bshin" type="capsule" axisangle="0 1 0 -2.03" pos="-.14 0 -.07" rgba="0.9 0.6 0.6 1" size="0.046 .15"/>
          <body name="bfoot" pos="-.28 0 -.14">
            <joint name="bfoot" type="hinge" axis="0 1 0" pos="0 0 0" damping="3" range="-.4 .785" stiffness="120"/>
            <geom name="bfoot" type="capsule" axisangle="0 1 0 -.27" pos=".03 0 -.097" rgba="0.9 0.6 0.6 1" size="0.046 .094"/>
          </body>
        </body>
      </body>
      <body name="fthigh" pos=".5 0 0">
        <joint name="fthigh" type="hinge" axis="0 1 0" pos="0 0 0" damping="4.5" range="-1 .7" stiffness="180"/>
        <geom name="fthigh" type="capsule" axisangle="0 1 0 .52" pos="-.07 0 -.12" size="0.046 .133"/>
        <body name="fshin" pos="-.14 0 -.24">
          <joint name="fshin" type="hinge" axis="0 1 0" pos="0 0 0" damping="3" range="-1.2 .87" stiffness="120"/>
          <geom name="fshin" type="capsule" axisangle="0 1 0 -.6" pos=".065 0 -.09" rgba="0.9 0.6 0.6 1" size="0.046 .106"/>
          <body name="ffoot" pos=".13 0 -.18">
            <joint name="ffoot" type="hinge" axis="0 1 0" pos="0 0 0" damping="1.5" range="-.5 .5" stiffness="60"/>
            <geom name="ffoot" type="capsule" axisangle="0 1 0 -.6" pos=".045 0 -.07" rgba="0.9 0.6 0.6 1" size="0.046 .07"/>
          </body>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor name="bthigh" joint="bthigh" gear="120"/>
    <motor name="bshin" joint="bshin" gear="90"/>
    <motor name="bfoot" joint="bfoot" gear="60"/>
    <motor name="fthigh" joint="fthigh" gear="120"/>
    <motor name="fshin" joint="fshin" gear="60"/>
    <motor name="ffoot" joint="ffoot" gear="30"/>
  </actuator>
</mujoco>`;

/** Hopper (v5 model, local coordinates): torso, thigh, leg, foot; RK4, 0.002 s; gear 200, ctrl ±1. */
export const HOPPER_XML = `<mujoco model="hopper">
  <compiler angle="degree" inertiafromgeom="true"/>
  <default>
    <joint armature="1" damping="1" limited="true"/>
    <geom conaffinity="1" condim="1" contype="1" margin="0.001" rgba="0.8 0.6 .4 1" solimp=".8 .8 .01" solref=".02 1"/>
    <motor ctrllimited="true" ctrlrange="-.4 .4"/>
  </default>
  <option integrator="RK4" timestep="0.002"/>
  <worldbody>
    <geom name="floor" type="plane" conaffinity="1" condim="3" pos="0 0 0" size="20 20 .125" rgba="0.8 0.9 0.8 1"/>
    <body name="torso" pos="0 0 1.25">
      <joint name="rootx" type="slide" axis="1 0 0" pos="0 0 -1.25" armature="0" damping="0" limited="false" stiffness="0"/>
      <joint name="rootz" type="slide" axis="0 0 1" pos="0 0 -1.25" ref="1.25" armature="0" damping="0" limited="false" stiffness="0"/>
      <joint name="rooty" type="hinge" axis="0 1 0" pos="0 0 0" armature="0" damping="0" limited="false" stiffness="0"/>
      <geom name="torso_geom" type="capsule" friction="0.9" size="0.05 0.2"/>
      <body name="thigh" pos="0 0 -0.2">
        <joint name="thigh_joint" type="hinge" axis="0 -1 0" pos="0 0 0" range="-150 0"/>
        <geom name="thigh_geom" type="capsule" friction="0.9" pos="0 0 -0.225" size="0.05 0.225"/>
        <body name="leg" pos="0 0 -0.7">
          <joint name="leg_joint" type="hinge" axis="0 -1 0" pos="0 0 0.25" range="-150 0"/>
          <geom name="leg_geom" type="capsule" friction="0.9" size="0.04 0.25"/>
          <body name="foot" pos="0.13 0 -0.35">
            <joint name="foot_joint" type="hinge" axis="0 -1 0" pos="-0.13 0 0.1" range="-45 45"/>
            <geom name="foot_geom" type="capsule" friction="2.0" pos="-0.065 0 0.1" quat="0.70710678118654757 0 -0.70710678118654746 0" size="0.06 0.195"/>
          </body>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor joint="thigh_joint" gear="200.0" ctrllimited="true" ctrlrange="-1.0 1.0"/>
    <motor joint="leg_joint" gear="200.0" ctrllimited="true" ctrlrange="-1.0 1.0"/>
    <motor joint="foot_joint" gear="200.0" ctrllimited="true" ctrlrange="-1.0 1.0"/>
  </actuator>
</mujoco>`;

/** One Walker2d leg (v5: both feet with friction 1.9). */
function walkerLeg(suffix: string, rgba: string): string {
  const c = rgba ? ` rgba="${rgba}"` : "";
  return `      <body name="thigh${suffix}" pos="0 0 -0.2">
        <joint name="thigh${suffix}_joint" type="hinge" axis="0 -1 0" pos="0 0 0" range="-150 0"/>
        <geom name="thigh${suffix}_geom" type="capsule" friction="0.9" pos="0 0 -0.225" size="0.05 0.225"${c}/>
        <body name="leg${suffix}" pos="0 0 -0.7">
          <joint name="leg${suffix}_joint" type="hinge" axis="0 -1 0" pos="0 0 0.25" range="-150 0"/>
          <geom name="leg${suffix}_geom" type="capsule" friction="0.9" size="0.04 0.25"${c}/>
          <body name="foot${suffix}" pos="0.2 0 -0.35">
            <joint name="foot${suffix}_joint" type="hinge" axis="0 -1 0" pos="-0.2 0 0.1" range="-45 45"/>
            <geom name="foot${suffix}_geom" type="capsule" friction="1.9" pos="-0.1 0 0.1" quat="0.70710678118654757 0 -0.70710678118654746 0" size="0.06 0.1"${c}/>
          </body>
        </body>
      </body>`;
}

/** Walker2d (v5 model): torso and two legs; RK4, 0.002 s; gear 100, ctrl ±1. */
export const WALKER2D_XML = `<mujoco model="walker2d">
  <compiler angle="degree" inertiafromgeom="true"/>
  <default>
    <joint armature="0.01" damping=".1" limited="true"/>
    <geom conaffinity="0" condim="3" contype="1" density="1000" friction=".7 .1 .1" rgba="0.8 0.6 .4 1"/>
  </default>
  <option integrator="RK4" timestep="0.002"/>
  <worldbody>
    <geom name="floor" type="plane" conaffinity="1" condim="3" pos="0 0 0" size="40 40 40" rgba="0.8 0.9 0.8 1"/>
    <body name="torso" pos="0 0 1.25">
      <joint name="rootx" type="slide" axis="1 0 0" pos="0 0 -1.25" armature="0" damping="0" limited="false" stiffness="0"/>
      <joint name="rootz" type="slide" axis="0 0 1" pos="0 0 -1.25" ref="1.25" armature="0" damping="0" limited="false" stiffness="0"/>
      <joint name="rooty" type="hinge" axis="0 1 0" pos="0 0 0" armature="0" damping="0" limited="false" stiffness="0"/>
      <geom name="torso_geom" type="capsule" friction="0.9" size="0.05 0.2"/>
${walkerLeg("", "")}
${walkerLeg("_left", ".7 .3 .6 1")}
    </body>
  </worldbody>
  <actuator>
    <motor joint="thigh_joint" gear="100" ctrllimited="true" ctrlrange="-1.0 1.0"/>
    <motor joint="leg_joint" gear="100" ctrllimited="true" ctrlrange="-1.0 1.0"/>
    <motor joint="foot_joint" gear="100" ctrllimited="true" ctrlrange="-1.0 1.0"/>
    <motor joint="thigh_left_joint" gear="100" ctrllimited="true" ctrlrange="-1.0 1.0"/>
    <motor joint="leg_left_joint" gear="100" ctrllimited="true" ctrlrange="-1.0 1.0"/>
    <motor joint="foot_left_joint" gear="100" ctrllimited="true" ctrlrange="-1.0 1.0"/>
  </actuator>
</mujoco>`;

/** Swimmer: three 1 m links in a viscous fluid (density 4000, viscosity 0.1); RK4, 0.01 s; gear 150. */
export const SWIMMER_XML = `<mujoco model="swimmer">
  <compiler angle="degree" inertiafromgeom="true"/>
  <option density="4000" integrator="RK4" timestep="0.01" viscosity="0.1"/>
  <default>
    <geom conaffinity="0" condim="1" contype="0" rgba="0.8 0.6 .4 1"/>
    <joint armature="0.1"/>
  </default>
  <worldbody>
    <geom name="floor" type="plane" condim="3" pos="0 0 -0.1" size="40 40 0.1" rgba="0.8 0.9 0.8 1"/>
    <body name="torso" pos="0 0 0">
      <geom type="capsule" density="1000" fromto="1.5 0 0 0.5 0 0" size="0.1"/>
      <joint name="slider1" type="slide" axis="1 0 0" pos="0 0 0"/>
      <joint name="slider2" type="slide" axis="0 1 0" pos="0 0 0"/>
      <joint name="free_body_rot" type="hinge" axis="0 0 1" pos="0 0 0"/>
      <body name="mid" pos="0.5 0 0">
        <geom type="capsule" density="1000" fromto="0 0 0 -1 0 0" size="0.1"/>
        <joint name="motor1_rot" type="hinge" axis="0 0 1" pos="0 0 0" limited="true" range="-100 100"/>
        <body name="back" pos="-1 0 0">
          <geom type="capsule" density="1000" fromto="0 0 0 -1 0 0" size="0.1"/>
          <joint name="motor2_rot" type="hinge" axis="0 0 1" pos="0 0 0" limited="true" range="-100 100"/>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor joint="motor1_rot" gear="150.0" ctrllimited="true" ctrlrange="-1 1"/>
    <motor joint="motor2_rot" gear="150.0" ctrllimited="true" ctrlrange="-1 1"/>
  </actuator>
</mujoco>`;

/** Reacher: a two-link planar arm (0.1 m + 0.1 m) and a target on two slide joints; RK4, 0.01 s; gear 200. */
export const REACHER_XML = `<mujoco model="reacher">
  <compiler angle="radian" inertiafromgeom="true"/>
  <default>
    <joint armature="1" damping="1" limited="true"/>
    <geom contype="0" friction="1 0.1 0.1" rgba="0.7 0.7 0 1"/>
  </default>
  <option gravity="0 0 -9.81" integrator="RK4" timestep="0.01"/>
  <worldbody>
    <geom name="ground" type="plane" conaffinity="0" contype="0" pos="0 0 0" size="1 1 10" rgba="0.9 0.9 0.9 1"/>
    <geom name="sideS" type="capsule" conaffinity="0" fromto="-.3 -.3 .01 .3 -.3 .01" size=".02" rgba="0.9 0.4 0.6 1"/>
    <geom name="sideE" type="capsule" conaffinity="0" fromto=" .3 -.3 .01 .3 .3 .01" size=".02" rgba="0.9 0.4 0.6 1"/>
    <geom name="sideN" type="capsule" conaffinity="0" fromto="-.3 .3 .01 .3 .3 .01" size=".02" rgba="0.9 0.4 0.6 1"/>
    <geom name="sideW" type="capsule" conaffinity="0" fromto="-.3 -.3 .01 -.3 .3 .01" size=".02" rgba="0.9 0.4 0.6 1"/>
    <geom name="root" type="cylinder" conaffinity="0" contype="0" fromto="0 0 0 0 0 0.02" size=".011" rgba="0.9 0.4 0.6 1"/>
    <body name="body0" pos="0 0 .01">
      <geom name="link0" type="capsule" fromto="0 0 0 0.1 0 0" size=".01" rgba="0.0 0.4 0.6 1"/>
      <joint name="joint0" type="hinge" axis="0 0 1" pos="0 0 0" limited="false"/>
      <body name="body1" pos="0.1 0 0">
        <joint name="joint1" type="hinge" axis="0 0 1" pos="0 0 0" limited="true" range="-3.0 3.0"/>
        <geom name="link1" type="capsule" fromto="0 0 0 0.1 0 0" size=".01" rgba="0.0 0.4 0.6 1"/>
        <body name="fingertip" pos="0.11 0 0">
          <geom name="fingertip" type="sphere" contype="0" pos="0 0 0" size=".01" rgba="0.0 0.8 0.6 1"/>
        </body>
      </body>
    </body>
    <body name="target" pos=".1 -.1 .01">
      <joint name="target_x" type="slide" axis="1 0 0" pos="0 0 0" armature="0" damping="0" limited="true" range="-.27 .27" ref=".1" stiffness="0"/>
      <joint name="target_y" type="slide" axis="0 1 0" pos="0 0 0" armature="0" damping="0" limited="true" range="-.27 .27" ref="-.1" stiffness="0"/>
      <geom name="target" type="sphere" conaffinity="0" contype="0" pos="0 0 0" size=".009" rgba="0.9 0.2 0.2 1"/>
    </body>
  </worldbody>
  <actuator>
    <motor joint="joint0" gear="200.0" ctrllimited="true" ctrlrange="-1.0 1.0"/>
    <motor joint="joint1" gear="200.0" ctrllimited="true" ctrlrange="-1.0 1.0"/>
  </actuator>
</mujoco>`;

/** One Ant leg: hip (aux) capsule, hip joint about z, leg capsule, ankle joint, ankle capsule. */
function antLeg(name: string, aux: number, sx: number, sy: number, ankleAxis: string, ankleRange: string, legGeom: string, ankleGeom: string): string {
  const p = (k: number) => `${(sx * k).toFixed(1)} ${(sy * k).toFixed(1)}`;
  return `      <body name="${name}" pos="0 0 0">
        <geom name="aux_${aux}_geom" type="capsule" fromto="0.0 0.0 0.0 ${p(0.2)} 0.0" size="0.08"/>
        <body name="aux_${aux}" pos="${p(0.2)} 0">
          <joint name="hip_${aux}" type="hinge" axis="0 0 1" pos="0.0 0.0 0.0" range="-30 30"/>
          <geom name="${legGeom}" type="capsule" fromto="0.0 0.0 0.0 ${p(0.2)} 0.0" size="0.08"/>
          <body pos="${p(0.2)} 0">
            <joint name="ankle_${aux}" type="hinge" axis="${ankleAxis}" pos="0.0 0.0 0.0" range="${ankleRange}"/>
            <geom name="${ankleGeom}" type="capsule" fromto="0.0 0.0 0.0 ${p(0.4)} 0.0" size="0.08"/>
          </body>
        </body>
      </body>`;
}

/** Ant: a 0.25 m sphere torso on a free joint and four two-segment legs; RK4, 0.01 s; gear 150. */
export const ANT_XML = `<mujoco model="ant">
  <compiler angle="degree" inertiafromgeom="true"/>
  <option integrator="RK4" timestep="0.01"/>
  <default>
    <joint armature="1" damping="1" limited="true"/>
    <geom conaffinity="0" condim="3" density="5.0" friction="1 0.5 0.5" margin="0.01" rgba="0.8 0.6 0.4 1"/>
  </default>
  <worldbody>
    <geom name="floor" type="plane" conaffinity="1" condim="3" pos="0 0 0" size="40 40 40" rgba="0.8 0.9 0.8 1"/>
    <body name="torso" pos="0 0 0.75">
      <geom name="torso_geom" type="sphere" pos="0 0 0" size="0.25"/>
      <joint name="root" type="free" pos="0 0 0" armature="0" damping="0" limited="false" margin="0.01"/>
${antLeg("front_left_leg", 1, 1, 1, "-1 1 0", "30 70", "left_leg_geom", "left_ankle_geom")}
${antLeg("front_right_leg", 2, -1, 1, "1 1 0", "-70 -30", "right_leg_geom", "right_ankle_geom")}
${antLeg("back_leg", 3, -1, -1, "-1 1 0", "-70 -30", "back_leg_geom", "third_ankle_geom")}
${antLeg("right_back_leg", 4, 1, -1, "1 1 0", "30 70", "rightback_leg_geom", "fourth_ankle_geom")}
    </body>
  </worldbody>
  <actuator>
    <motor joint="hip_4" gear="150" ctrllimited="true" ctrlrange="-1.0 1.0"/>
    <motor joint="ankle_4" gear="150" ctrllimited="true" ctrlrange="-1.0 1.0"/>
    <motor joint="hip_1" gear="150" ctrllimited="true" ctrlrange="-1.0 1.0"/>
    <motor joint="ankle_1" gear="150" ctrllimited="true" ctrlrange="-1.0 1.0"/>
    <motor joint="hip_2" gear="150" ctrllimited="true" ctrlrange="-1.0 1.0"/>
    <motor joint="ankle_2" gear="150" ctrllimited="true" ctrlrange="-1.0 1.0"/>
    <motor joint="hip_3" gear="150" ctrllimited="true" ctrlrange="-1.0 1.0"/>
    <motor joint="ankle_3" gear="150" ctrllimited="true" ctrlrange="-1.0 1.0"/>
  </actuator>
</mujoco>`;
